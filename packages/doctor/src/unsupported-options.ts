import type { ConfigTraceEntry } from '@port-linker/ssh';

/**
 * ssh_config keywords port-linker reads but does not act on (or acts on differently from OpenSSH), with what it does
 * instead. A keyword is reported only when set to something other than its no-op value.
 */
export const UNSUPPORTED: Readonly<Record<string, { noop: readonly string[]; message: string }>> = {
  canonicalizehostname: {
    noop: ['no', 'false'],
    message: 'CanonicalizeHostname is not supported: the HostName is used as written (no CanonicalDomains search)',
  },
  hostkeyalias: {
    noop: [],
    message: 'HostKeyAlias is not supported: known_hosts is looked up under the HostName and port',
  },
  controlmaster: {
    noop: ['no', 'false'],
    message: 'ControlMaster is not supported: port-linker opens a connection of its own',
  },
  controlpath: { noop: ['none'], message: 'ControlPath is not used: port-linker opens a connection of its own' },
  certificatefile: { noop: ['none'], message: 'CertificateFile is not supported: certificates are not offered' },
  addressfamily: {
    noop: ['any'],
    message: 'AddressFamily is not supported: the system resolver order is used',
  },
  bindaddress: { noop: [], message: 'BindAddress is not supported: the connection uses the default source address' },
  bindinterface: { noop: [], message: 'BindInterface is not supported' },
  forwardagent: { noop: ['no', 'false'], message: 'ForwardAgent is not supported: no agent is forwarded' },
  hostkeyalgorithms: { noop: [], message: "HostKeyAlgorithms is not supported: ssh2's list is used" },
  kexalgorithms: { noop: [], message: "KexAlgorithms is not supported: ssh2's list is used" },
  macs: { noop: [], message: "MACs is not supported: ssh2's list is used" },
  pubkeyacceptedalgorithms: { noop: [], message: "PubkeyAcceptedAlgorithms is not supported: ssh2's list is used" },
  pubkeyauthentication: { noop: ['yes', 'true'], message: 'PubkeyAuthentication no is not supported: keys are tried' },
  passwordauthentication: {
    noop: ['yes', 'true'],
    message: 'PasswordAuthentication no is not supported: a password is asked on a terminal when the server wants one',
  },
  preferredauthentications: {
    noop: [],
    message: 'PreferredAuthentications is not supported: agent, keys, keyboard-interactive, password, in that order',
  },
  checkhostip: { noop: ['no', 'false'], message: 'CheckHostIP is not supported: only the HostName key is checked' },
  verifyhostkeydns: { noop: ['no', 'false'], message: 'VerifyHostKeyDNS is not supported' },
  updatehostkeys: {
    noop: ['no', 'false'],
    message: 'UpdateHostKeys is not supported: known_hosts is only appended to',
  },
  addkeystoagent: { noop: ['no', 'false'], message: 'AddKeysToAgent is not supported' },
  securitykeyprovider: { noop: ['internal'], message: 'security keys (sk-*) are not supported' },
  tag: { noop: [], message: 'Tag is read by Match tagged only' },
};

/** Messages for every unsupported keyword the target's evaluation set (first value obtained only). */
export function unsupportedMessages(trace: readonly ConfigTraceEntry[], alias: string): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of trace) {
    if (e.kind !== 'option' || e.host !== alias) continue;
    const space = e.text.indexOf(' ');
    const key = space < 0 ? e.text : e.text.slice(0, space);
    const value = space < 0 ? '' : e.text.slice(space + 1);
    if (seen.has(key)) continue;
    seen.add(key);
    const u = UNSUPPORTED[key];
    if (!u || u.noop.includes(value.toLowerCase())) continue;
    out.push(`${u.message} (${key} ${value}, ${e.file})`);
  }
  return out;
}
