import { connect, type Socket } from 'node:net';
import { fail, pass, type StepOutcome } from './step-result.ts';

/** What the TCP step leaves for the banner step: the open socket and what it sent first. */
export interface TcpReach {
  outcome: StepOutcome;
  socket?: Socket;
}

const WHY: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on that port',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'no answer (timed out)',
};

/** Opens a TCP connection to address:port within `timeoutMs`. */
export function tcpStep(address: string, port: number, timeoutMs: number): Promise<TcpReach> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve({ outcome: pass(`${address}:${port} accepted a TCP connection`), socket });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = err.code ?? 'EIO';
      const fix =
        code === 'ECONNREFUSED'
          ? `check the port (-p / Port in your ssh config; ssh -G shows it) and that sshd runs on port ${port}`
          : 'check that the host is up, and your network, VPN or firewall';
      resolve({ outcome: fail(`${address}:${port}: ${WHY[code] ?? code}`, fix) });
    });
  });
}

/** Reads the server's identification line (`SSH-2.0-...`; RFC 4253 allows other lines before it). */
export function bannerStep(socket: Socket, timeoutMs: number): Promise<{ outcome: StepOutcome; version?: string }> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (r: { outcome: StepOutcome; version?: string }) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        done({
          outcome: fail(
            `no SSH identification within ${timeoutMs} ms${buf ? ` (it sent ${JSON.stringify(buf.slice(0, 60))})` : ''}`,
            'that port does not run an SSH server: check Port / -p',
          ),
        }),
      timeoutMs,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      for (;;) {
        const nl = buf.indexOf('\n');
        if (nl < 0) break;
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        if (line.startsWith('SSH-')) {
          const m = /^SSH-([^-]+)-(\S+)(?: (.*))?$/.exec(line);
          const proto = m?.[1] ?? '?';
          if (proto !== '2.0' && proto !== '1.99')
            return done({ outcome: fail(`${line}: protocol ${proto}`, 'the server must speak SSH protocol 2') });
          return done({ outcome: pass(line), version: m?.[2] ?? line });
        }
      }
      if (buf.length > 8192)
        done({ outcome: fail('8 KiB without an SSH identification line', 'that port does not run an SSH server') });
    });
    socket.once('close', () =>
      done({
        outcome: fail(
          `the server closed the connection before identifying itself${buf ? ` (it sent ${JSON.stringify(buf.slice(0, 60))})` : ''}`,
          "check sshd's logs (MaxStartups, tcp wrappers, a fail2ban ban) and that the port runs sshd",
        ),
      }),
    );
  });
}
