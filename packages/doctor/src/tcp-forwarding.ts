import { ChannelError, type SshConnection } from '@port-linker/ssh';
import { fail, pass, type StepOutcome } from './step-result.ts';
import { errorText } from './step-runner.ts';

/**
 * Whether the server lets this user open direct-tcpip channels (what every forwarded port rides on): a channel to
 * 127.0.0.1:1 on the remote, where nothing listens. "connect failed" (or an open channel) means forwarding is
 * allowed; "administratively prohibited" means AllowTcpForwarding no or a permitopen restriction.
 */
export async function tcpForwardingStep(conn: SshConnection): Promise<StepOutcome> {
  try {
    const ch = await conn.forwardOut('127.0.0.1', 1);
    ch.destroy();
    return pass('direct-tcpip channels are allowed (a test channel to 127.0.0.1:1 opened)');
  } catch (err) {
    if (err instanceof ChannelError && err.reason === 'connect failed')
      return pass(
        'direct-tcpip channels are allowed (a test channel to 127.0.0.1:1 was refused by the remote port only)',
      );
    if (err instanceof ChannelError && err.reason === 'administratively prohibited')
      return fail(
        'the server refuses direct-tcpip channels (administratively prohibited): no port can be forwarded',
        "set AllowTcpForwarding yes (or local) for this user in the server's sshd_config, and check PermitOpen",
      );
    return fail(`a test channel failed: ${errorText(err)}`, 'check the connection and the server log');
  }
}
