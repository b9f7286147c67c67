import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';

/** Connects to host:port, sends `data`, half-closes, and resolves with everything received until EOF. */
export async function tcpRoundTrip(
  port: number,
  data: Buffer,
  host = '127.0.0.1',
  timeoutMs = 15_000,
): Promise<Buffer> {
  const s = connect({ port, host, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  const timer = setTimeout(() => s.destroy(new Error(`no EOF from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
  try {
    await once(s, 'connect');
    s.end(data);
    await once(s, 'end');
    return Buffer.concat(chunks);
  } finally {
    clearTimeout(timer);
    s.destroy();
  }
}

/** Resolves true when something accepts a TCP connection on host:port, false when refused. */
export async function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  const s = connect({ port, host });
  try {
    await once(s, 'connect');
    return true;
  } catch {
    return false;
  } finally {
    s.destroy();
  }
}

/** An HTTP GET over a fresh connection; resolves with the body. */
export async function httpGet(port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  return res.text();
}

/** Sends `data` through 127.0.0.1:port (to an echo), half-closes, and resolves with the SHA-256 of what came back. */
export function echoHash(port: number, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const h = createHash('sha256');
    s.on('data', (d) => h.update(d));
    s.on('end', () => resolve(h.digest('hex')));
    s.on('error', reject);
    s.end(data);
  });
}
