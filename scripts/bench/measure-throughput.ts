import { run } from '../../test/harness/index.ts';

/** Bulk TCP throughput through a forwarded iperf3 port (local client, server in the namespace); Gbit/s. */
export async function iperfGbps(
  port: number,
  direction: 'upload' | 'download',
  seconds: number,
  omit: number,
  log?: (msg: string) => void,
): Promise<number> {
  try {
    return await iperfOnce(port, direction, seconds, omit);
  } catch (err) {
    // iperf3's server runs one test at a time and refuses the next control connection while the previous
    // test's sockets are still closing (slower over a 50 ms link): one retry after a pause, logged.
    log?.(`iperf3 ${direction} retried after: ${(err as Error).message}`);
    await new Promise((r) => setTimeout(r, 2000));
    return iperfOnce(port, direction, seconds, omit);
  }
}

async function iperfOnce(
  port: number,
  direction: 'upload' | 'download',
  seconds: number,
  omit: number,
): Promise<number> {
  const argv = ['iperf3', '-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'];
  if (omit > 0) argv.push('-O', String(omit));
  if (direction === 'download') argv.push('-R');
  const res = await run(argv, { allowFail: true });
  let parsed: { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  try {
    parsed = JSON.parse(res.stdout);
  } catch {
    throw new Error(`iperf3 gave no JSON (exit ${res.code}): ${res.stderr.trim() || res.stdout.slice(0, 300)}`);
  }
  const bps = parsed.end?.sum_received?.bits_per_second;
  if (parsed.error || typeof bps !== 'number') throw new Error(`iperf3 failed: ${parsed.error ?? 'no result'}`);
  return bps / 1e9;
}
