import { SshUsageError } from './errors.ts';

/** Where to connect, as typed by the user: `[user@]host[:port]` (host may be an ssh_config alias). */
export interface SshTarget {
  host: string;
  user?: string;
  port?: number;
}

const HOST_CHARS = /^[A-Za-z0-9._%~+-]+$/;
const IPV6_CHARS = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9._-]+)?$/;

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new SshUsageError(`bad port "${text}" in "${whole}": expected 1-65535`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new SshUsageError(`bad port ${port} in "${whole}": expected 1-65535`);
  return port;
}

/**
 * Parses `[user@]host[:port]`, `ssh://[user@]host[:port]`, `[v6addr]:port` or a bare IPv6 address.
 * Throws SshUsageError (code USAGE) on anything else.
 */
export function parseTarget(text: string): SshTarget {
  let rest = text.trim();
  if (rest !== text || rest === '') throw new SshUsageError(`bad target "${text}": expected [user@]host[:port]`);
  if (rest.startsWith('ssh://')) rest = rest.slice(6).replace(/\/$/, '');
  if (rest.startsWith('-')) throw new SshUsageError(`bad target "${text}": a host cannot start with "-"`);
  const target: SshTarget = { host: '' };
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const user = rest.slice(0, at);
    if (user === '' || /[\s:/]/.test(user) || user.startsWith('-')) {
      throw new SshUsageError(`bad user "${user}" in "${text}": expected [user@]host[:port]`);
    }
    target.user = user;
    rest = rest.slice(at + 1);
  }
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close === -1) throw new SshUsageError(`bad target "${text}": unclosed "[" in host`);
    target.host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw new SshUsageError(`bad target "${text}": expected ":port" after "]"`);
      target.port = parsePort(after.slice(1), text);
    }
    if (!IPV6_CHARS.test(target.host) && !HOST_CHARS.test(target.host)) {
      throw new SshUsageError(`bad host "${target.host}" in "${text}"`);
    }
    return target;
  }
  const colons = rest.split(':').length - 1;
  if (colons > 1) {
    if (!IPV6_CHARS.test(rest)) throw new SshUsageError(`bad host "${rest}" in "${text}": expected [user@]host[:port]`);
    target.host = rest;
    return target;
  }
  if (colons === 1) {
    const i = rest.indexOf(':');
    target.port = parsePort(rest.slice(i + 1), text);
    rest = rest.slice(0, i);
  }
  if (rest === '' || !HOST_CHARS.test(rest)) {
    throw new SshUsageError(`bad host "${rest}" in "${text}": expected [user@]host[:port]`);
  }
  target.host = rest;
  return target;
}

/** Parses a ProxyJump / `-J` list: comma-separated `[user@]host[:port]` entries. */
export function parseJumpList(text: string): SshTarget[] {
  return text.split(',').map((part) => parseTarget(part.trim()));
}
