import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

/** A UDP socket bound to an ephemeral loopback port (127.0.0.1, or ::1 for udp6). */
export async function udpClient(family: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
  const s = createSocket(family);
  s.bind(0, family === 'udp4' ? '127.0.0.1' : '::1');
  await once(s, 'listening');
  return s;
}

/**
 * Sends `data` from `s` to host:port and resolves with the first reply, resending up to `attempts` times when none
 * comes within `waitMs` (UDP may drop).
 */
export async function udpAsk(
  s: Socket,
  port: number,
  data: Buffer,
  { host = '127.0.0.1', attempts = 5, waitMs = 1000 }: { host?: string; attempts?: number; waitMs?: number } = {},
): Promise<Buffer> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const reply = new Promise<Buffer | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), waitMs);
      s.once('message', (m: Buffer) => {
        clearTimeout(t);
        resolve(m);
      });
    });
    s.send(data, port, host);
    const got = await reply;
    if (got) return got;
  }
  throw new Error(`no UDP reply from ${host}:${port}`);
}

/** udpAsk from a fresh socket, closed afterwards (10 tries, 700 ms each). */
export async function udpAskOnce(port: number, data: Buffer): Promise<Buffer> {
  const s = await udpClient();
  try {
    return await udpAsk(s, port, data, { attempts: 10, waitMs: 700 });
  } finally {
    s.close();
  }
}
