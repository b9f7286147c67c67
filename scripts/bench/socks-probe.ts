import type { Socket } from 'node:net';
import { type Dial, open, readBytes } from './net-probe.ts';

/**
 * Connections through a SOCKS5 proxy on 127.0.0.1:proxyPort (no auth, CONNECT by IPv4 address), the way curl
 * --socks5 talks: greeting, wait for the method, request, wait for the reply; then the socket carries the stream.
 */
export function viaSocks5(proxyPort: number, ip: string, port: number): Dial {
  const octets = ip.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !(o >= 0 && o <= 255))) throw new Error(`not an IPv4 address: ${ip}`);
  const request = Buffer.from([5, 1, 0, 1, ...octets, port >> 8, port & 0xff]);
  return async (timeoutMs) => {
    const s: Socket = await open(proxyPort, timeoutMs);
    try {
      s.write(Buffer.from([5, 1, 0]));
      const method = await readBytes(s, 2, timeoutMs);
      if (method[0] !== 5 || method[1] !== 0)
        throw new Error(`SOCKS5 proxy refused no-auth: ${method.toString('hex')}`);
      s.write(request);
      const head = await readBytes(s, 4, timeoutMs);
      if (head[1] !== 0) throw new Error(`SOCKS5 CONNECT failed with reply code ${head[1]}`);
      // the bound address: IPv6, IPv4, or a length-prefixed name; then the port
      const name = head[3] === 4 || head[3] === 1 ? 0 : ((await readBytes(s, 1, timeoutMs))[0] ?? 0);
      const rest = (head[3] === 4 ? 16 : head[3] === 1 ? 4 : name) + 2;
      await readBytes(s, rest, timeoutMs);
      return s;
    } catch (err) {
      s.destroy();
      throw err;
    }
  };
}
