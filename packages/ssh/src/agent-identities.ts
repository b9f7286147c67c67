import ssh2, { type ParsedKey } from 'ssh2';
import { fingerprint, keyTypeOfBlob } from './known-hosts.ts';

/** One key an ssh-agent holds. */
export interface AgentIdentity {
  type: string;
  /** `SHA256:...` as `ssh-add -l` prints it. */
  fingerprint: string;
  comment: string;
}

/** The keys of the ssh-agent at `socket` (rejects when it does not answer within `timeoutMs`). */
export function listAgentIdentities(socket: string, timeoutMs = 3000): Promise<AgentIdentity[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the agent at ${socket} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    new ssh2.OpenSSHAgent(socket).getIdentities((err, keys) => {
      clearTimeout(timer);
      if (err) return reject(err);
      resolve(
        (keys ?? []).flatMap((k) => {
          const key = k as ParsedKey;
          if (typeof key.getPublicSSH !== 'function') return [];
          const blob = key.getPublicSSH();
          return [{ type: keyTypeOfBlob(blob), fingerprint: fingerprint(blob), comment: key.comment ?? '' }];
        }),
      );
    });
  });
}
