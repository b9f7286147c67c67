// `npm run bench [-- --quick] [--runs N] [--only id,id] [--transport stdio|auto|tcp] [--no-build]`: port-linker side by side with OpenSSH
// against one harness host (network namespace + private sshd). Needs root. See README "## Benchmarks".
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { harnessUnavailableReason, RemoteHost } from '../../test/harness/index.ts';
import type { Row, RowContext, Sample, Side } from './bench-types.ts';
import { cleanupAll, installSignalCleanup, isStopping, onCleanup } from './cleanup.ts';
import { Listeners } from './listeners.ts';
import { waitUsable } from './net-probe.ts';
import { machineInfo, markdownTable, summarise } from './report.ts';
import { ROWS } from './rows.ts';
import { startServices } from './services.ts';
import { CIPHER, setAgentTransport, setDataPath, startTunnel, targetOf, waitDataPath } from './tunnel.ts';
import { startWanLink } from './wan-link.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    out: { type: 'string' },
    transport: { type: 'string', default: 'stdio' },
    'data-path': { type: 'string', default: 'auto' },
  },
});
const quick = args.quick === true;
const runs = Math.max(3, Number(args.runs ?? (quick ? 3 : 5)));
const only = args.only ? new Set(args.only.split(',')) : undefined;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function preflight(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'npm run bench needs root: it creates a network namespace and a private sshd (run it as root, e.g. sudo npm run bench).\n',
    );
    process.exit(2);
  }
  const why = harnessUnavailableReason();
  if (why) {
    process.stderr.write(`npm run bench: ${why}\n`);
    process.exit(2);
  }
  // installs what is missing (iperf3, python3 for the WAN relay, sshd, ...) with apt-get
  execFileSync('bash', [join(ROOT, 'scripts/setup-system.sh')], { stdio: 'inherit' });
  if (!args['no-build']) {
    log('npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js'))) {
    process.stderr.write('npm run bench: the CLI is not built (npm run build)\n');
    process.exit(2);
  }
}

function selected(row: Row): boolean {
  if (only) return only.has(row.id);
  return !quick || row.quick;
}

/** Alternating side order: OpenSSH first on even runs, port-linker first on odd ones. */
function order(run: number, sides: readonly Side[]): Side[] {
  return run % 2 === 0 ? [...sides] : [...sides].reverse();
}

async function main(): Promise<void> {
  preflight();
  installSignalCleanup();
  setAgentTransport(args.transport ?? 'stdio');
  setDataPath(args['data-path'] ?? 'auto');
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'port-linker-bench-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const xdg = join(dir, 'xdg');
  mkdirSync(xdg, { mode: 0o700 });
  log(
    `harness host (namespace + sshd), cipher ${CIPHER} pinned on both sides, agent transport ${args.transport}, ${runs} runs`,
  );
  const host = await RemoteHost.start({ sshdConfig: [`SetEnv XDG_CACHE_HOME=${xdg}`], quietShell: true });
  onCleanup(() => host.close());
  const services = await startServices(host);
  const listeners = new Listeners(host);
  onCleanup(() => listeners.stop());
  const base: Omit<RowContext, 'side' | 'run'> = {
    host,
    services,
    target: targetOf(host),
    listeners,
    agentCacheDir: join(xdg, 'port-linker'),
    quick,
    log,
  };

  const rows = ROWS.filter(selected);
  const samples = new Map<string, Sample[]>();
  const errors = new Map<string, string>();
  const record = (row: Row, side: Side, run: number, figures: Record<string, number>) => {
    const load1 = loadavg()[0] ?? 0;
    for (const [id, value] of Object.entries(figures)) {
      const key = `${row.id}.${id}`;
      const list = samples.get(key) ?? [];
      list.push({ side, run, value, load1 });
      samples.set(key, list);
    }
  };
  const measure = async (row: Row, ctx: RowContext) => {
    if (isStopping()) throw new Error('stopped');
    if (!row.measure || row.notImplemented || errors.has(row.id)) return;
    if (!row.sides.includes(ctx.side) || ctx.run >= (row.runs ?? runs)) return;
    try {
      record(row, ctx.side, ctx.run, await row.measure(ctx));
    } catch (err) {
      errors.set(row.id, (err as Error).message.split('\n')[0] ?? 'failed');
      log(`${row.id} (${ctx.side}) failed: ${(err as Error).message}`);
    }
  };

  // Tunnel phases: one tunnel per side and run carries every row of the phase, sides alternating.
  const tunnelPhase = async (phase: 'tunnel' | 'wan', ctxBase: typeof base) => {
    const phaseRows = rows.filter((r) => r.phase === phase && r.measure && !r.notImplemented);
    if (phaseRows.length === 0) return;
    const maxRuns = Math.max(...phaseRows.map((r) => r.runs ?? runs));
    for (let run = 0; run < maxRuns; run++) {
      for (const side of order(run, ['openssh', 'port-linker'])) {
        if (isStopping()) return;
        log(`${phase} run ${run + 1}/${maxRuns}: ${side}`);
        const tunnel = startTunnel(side, ctxBase.target, { forwards: [services.echo, services.iperf] });
        try {
          await waitUsable(services.echo, 20_000, tunnel.dead);
          if (side === 'port-linker') log(`data path: ${await waitDataPath(tunnel)}`);
          for (const row of phaseRows) await measure(row, { ...ctxBase, tunnel, side, run });
        } catch (err) {
          for (const row of phaseRows) errors.set(row.id, (err as Error).message.split('\n')[0] ?? 'failed');
          log(`${phase} tunnel (${side}) failed: ${(err as Error).message}`);
        } finally {
          await tunnel.stop();
        }
      }
    }
  };

  // Solo phases: each row starts what it measures, runs and sides alternating.
  const soloPhase = async (phase: 'solo' | 'wan-solo', ctxBase: typeof base) => {
    for (const row of rows.filter((r) => r.phase === phase && r.measure)) {
      for (let run = 0; run < (row.runs ?? runs); run++) {
        for (const side of order(run, row.sides)) {
          if (isStopping()) return;
          log(`${row.id} run ${run + 1}/${row.runs ?? runs}: ${side}`);
          await measure(row, { ...ctxBase, side, run });
        }
      }
    }
  };

  await tunnelPhase('tunnel', base);
  await soloPhase('solo', base);
  if (rows.some((r) => (r.phase === 'wan' || r.phase === 'wan-solo') && r.measure)) {
    log('WAN link: wan-relay.py, 50 ms delay + 1 % loss client->server');
    try {
      const wan = await startWanLink(host, dir, 50, 0.01);
      try {
        await tunnelPhase('wan', { ...base, target: wan.target });
        await soloPhase('wan-solo', { ...base, target: wan.target });
      } finally {
        log(await wan.stop());
      }
    } catch (err) {
      for (const r of rows.filter((x) => x.phase === 'wan' || x.phase === 'wan-solo'))
        errors.set(r.id, (err as Error).message);
      log(`WAN link failed: ${(err as Error).message}`);
    }
  }

  const results = summarise(rows, samples, errors);
  const table = markdownTable(results);
  const machine = machineInfo(CIPHER);
  const durationS = Math.round((Date.now() - started) / 1000);
  const summary = `${machine.cpu}, ${machine.cores} cores, Linux ${machine.kernel}, Node ${machine.node}, ${machine.openssh}, ssh2 ${machine.ssh2}; cipher ${CIPHER}; agent transport ${args.transport}; data path ${args['data-path']}; ${runs} runs${quick ? ' (--quick)' : ''}; load avg at end ${(machine.loadavg as number[]).map((l) => l.toFixed(2)).join(' ')}; ${durationS} s`;
  process.stdout.write(`\n${table}\n\n${summary}\n`);
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file =
    args.out ?? join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        quick,
        runs,
        transport: args.transport,
        dataPath: args['data-path'],
        durationS,
        machine,
        results,
        table,
      },
      null,
      2,
    )}\n`,
  );
  log(`results written to ${file}`);
}

main()
  .catch((err) => {
    if (isStopping()) return; // Ctrl-C: the signal handler reports and exits
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
  });
