import { accessSync, constants } from 'node:fs';
import { PortLinkerError } from '@port-linker/proto';

const INSTALL = 'apt-get install -y openssh-server openssh-client iproute2';

/** Why the harness cannot run here, as one line naming the fix; undefined when it can. */
export function harnessUnavailableReason(): string | undefined {
  if (process.platform !== 'linux')
    return `the test harness needs Linux network namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'the test harness needs root (network namespaces, sshd): run the tests as root';
  for (const [bin, what] of [
    ['/usr/sbin/sshd', 'OpenSSH server'],
    ['/usr/bin/ssh-keygen', 'OpenSSH client'],
    ['/usr/sbin/ip', 'iproute2'],
  ] as const) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return `${what} is missing (${bin}): run \`${INSTALL}\` as root`;
    }
  }
  return undefined;
}

/** Throws a one-line PortLinkerError when the harness cannot run (not root, sshd or ip missing). */
export function assertHarnessAvailable(): void {
  const reason = harnessUnavailableReason();
  if (reason) throw new PortLinkerError('HARNESS', reason);
}
