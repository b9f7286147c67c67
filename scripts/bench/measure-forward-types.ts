// -D and -R rows: bulk HTTP through a SOCKS proxy (-D) and through a reverse forward (-R), and new connections
// through each, with OpenSSH and port-linker started the same way in the same run. curl is the client of the bulk
// figures (a real client, as a user would run it); the new-connection figures use net-probe's echo exchange.
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, serveLocally } from '../../test/harness/index.ts';
import type { RowContext } from './bench-types.ts';
import { onCleanup } from './cleanup.ts';
import { sequentialConnections, waitUsable } from './net-probe.ts';
import { freePortRange } from './services.ts';
import { viaSocks5 } from './socks-probe.ts';
import { percentile } from './stats.ts';
import { startTunnel } from './tunnel.ts';

const PROBE_CLI = fileURLToPath(new URL('./net-probe-cli.ts', import.meta.url));
const CONNECTIONS = 200;

/** What -D and -R rows report. */
export interface ForwardTypeFigures extends Record<string, number> {
  download: number;
  upload: number;
  totalMs: number;
  p50: number;
}

/** The figures, with the connections' total as the sum of their times (the -R probe's own start is not counted). */
function connectionFigures(download: number, upload: number, us: number[]): ForwardTypeFigures {
  return { download, upload, totalMs: us.reduce((a, b) => a + b, 0) / 1000, p50: percentile(us, 50) };
}

let bulkFile: string | undefined;

/** A sparse file of `bytes` to upload (reading it costs no disk), made once per bench run. */
function uploadFile(bytes: number): string {
  if (!bulkFile) {
    const dir = mkdtempSync(join(tmpdir(), 'pl-bench-bulk-'));
    onCleanup(() => rmSync(dir, { recursive: true, force: true }));
    bulkFile = join(dir, 'upload.bin');
    writeFileSync(bulkFile, '');
  }
  truncateSync(bulkFile, bytes);
  return bulkFile;
}

/** curl's `-w` speed (bytes/s) as Gbit/s; throws with curl's stderr when the transfer failed. */
async function curlGbps(argv: string[], exec: (a: string[]) => Promise<{ stdout: string; stderr: string }>) {
  const res = await exec(['curl', '-sS', '--fail', '--max-time', '60', '-o', '/dev/null', ...argv]);
  const bps = Number(res.stdout.trim());
  if (!(bps > 0)) throw new Error(`curl ${argv.join(' ')}: no speed (${res.stderr.trim() || res.stdout})`);
  return (bps * 8) / 1e9;
}

const bulkBytes = (ctx: RowContext) => (ctx.quick ? 64 : 512) * 1024 * 1024;

/**
 * `-D 127.0.0.1:P` on both sides; curl --socks5-hostname downloads from and uploads to an HTTP server in the
 * namespace (names resolve on the remote), then 200 sequential SOCKS5 connections to its echo port.
 */
export async function dynamicForwardFigures(ctx: RowContext): Promise<ForwardTypeFigures> {
  const port = await freePortRange(1);
  const http = await ctx.host.serve('http', 0, '127.0.0.1');
  const t = startTunnel(ctx.side, ctx.target, { extra: ['-D', `127.0.0.1:${port}`] });
  try {
    const echo = viaSocks5(port, '127.0.0.1', ctx.services.echo);
    await waitUsable(echo, 15_000, t.dead);
    const local = (a: string[]) => run(a);
    const proxy = ['--socks5-hostname', `127.0.0.1:${port}`];
    const bytes = bulkBytes(ctx);
    const url = `http://localhost:${http.port}`;
    const download = await curlGbps([...proxy, '-w', '%{speed_download}', `${url}/bytes/${bytes}`], local);
    const upload = await curlGbps(
      [...proxy, '-H', 'Expect:', '-T', uploadFile(bytes), '-w', '%{speed_upload}', `${url}/put`],
      local,
    );
    return connectionFigures(download, upload, await sequentialConnections(echo, CONNECTIONS));
  } finally {
    await t.stop();
    await http.stop();
  }
}

/**
 * `-R 127.0.0.1:P:127.0.0.1:S` on both sides for an HTTP and an echo server on this machine; curl inside the
 * namespace downloads and uploads through the remote listener, then 200 sequential connections from there.
 */
export async function remoteForwardFigures(ctx: RowContext): Promise<ForwardTypeFigures> {
  // the remote ports: free here and, the namespace being empty but for the bench's services, there too
  const base = await freePortRange(2, 33000, 40000);
  const http = await serveLocally('http');
  const echo = await serveLocally('tcp-echo');
  const t = startTunnel(ctx.side, ctx.target, {
    extra: ['-R', `127.0.0.1:${base}:127.0.0.1:${http.port}`, '-R', `127.0.0.1:${base + 1}:127.0.0.1:${echo.port}`],
  });
  const inside = (a: string[]) => ctx.host.exec(a);
  const probe = async (...args: string[]) => {
    const res = await ctx.host.exec([process.execPath, PROBE_CLI, ...args], { allowFail: true });
    if (res.code !== 0) throw new Error(t.dead() ?? `net-probe-cli ${args.join(' ')}: ${res.stderr.trim()}`);
    return JSON.parse(res.stdout) as { us?: number[] };
  };
  try {
    await probe('wait', String(base + 1), '15000');
    const bytes = bulkBytes(ctx);
    const url = `http://127.0.0.1:${base}`;
    const download = await curlGbps(['-w', '%{speed_download}', `${url}/bytes/${bytes}`], inside);
    const upload = await curlGbps(
      ['-H', 'Expect:', '-T', uploadFile(bytes), '-w', '%{speed_upload}', `${url}/put`],
      inside,
    );
    const { us = [] } = await probe('sequential', String(base + 1), String(CONNECTIONS));
    return connectionFigures(download, upload, us);
  } finally {
    await t.stop();
    await http.stop();
    await echo.stop();
  }
}
