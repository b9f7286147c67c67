import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ResolvedHost } from '@port-linker/ssh';
import { fail, pass, type StepOutcome, skip } from './step-result.ts';

/** Whether the host is reached through something else (then DNS and TCP are that thing's business). */
export function indirectRoute(h: ResolvedHost): string | undefined {
  if (h.proxyCommand) return `ProxyCommand carries the connection (${h.proxyCommand})`;
  const first = h.proxyJump[0];
  if (first) return `reached through jump host ${first.user}@${first.hostname}:${first.port}, which resolves it`;
  return undefined;
}

/** DNS: the addresses of the HostName (first one is what the TCP step dials). */
export async function dnsStep(h: ResolvedHost): Promise<{ outcome: StepOutcome; address?: string }> {
  const indirect = indirectRoute(h);
  if (indirect) return { outcome: skip(indirect) };
  if (isIP(h.hostname)) return { outcome: pass(`${h.hostname} is an IP address`), address: h.hostname };
  try {
    const all = await lookup(h.hostname, { all: true });
    const addresses = all.map((a) => a.address);
    return { outcome: pass(`${h.hostname} -> ${addresses.join(', ')}`), address: addresses[0] };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return {
      outcome: fail(
        `${h.hostname} does not resolve (${code})`,
        code === 'EAI_AGAIN'
          ? 'the DNS server does not answer: check your network or VPN'
          : 'check the name, or set HostName for it in your ssh config',
      ),
    };
  }
}
