// The `dashboard` bench row: the daemon's page in Debian's chromium (playwright-core) with N hosts x 10 forwards.
// - first paint: navigation start -> every forward row in the DOM at an animation frame (the session exchange and the
//   first SSE snapshot included), when the first snapshot arrived, and the browser's first-contentful-paint; median of
//   5 page loads after a warm-up;
// - update latency: a listener opened on a remote host ("ready" from listeners.mjs) -> its row in the page
//   (a MutationObserver stamps the first time each row is seen), p50 and p95 of 20;
// - daemon CPU over 10 s with 0 and with 5 dashboards open, one remote port opened and closed every second.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ControlClient, type HostView } from '@port-linker/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { PageDocument, PageMutationObserver } from '../../test/support/page-dom.ts';
import { onCleanup } from './cleanup.ts';
import { HostFleet } from './measure-hosts.ts';
import { cpuSeconds } from './measure-process.ts';
import { median, percentile } from './stats.ts';

declare const document: PageDocument;
declare const window: { seen: Record<string, number> };
declare const MutationObserver: PageMutationObserver;

const CLI = join(import.meta.dirname, '../../packages/cli/bin/port-linker.js');
const LISTENERS = join(import.meta.dirname, 'listeners.mjs');
const PER_HOST = 10;
const BASE = 21000; // below the ephemeral range (32768-): the fleet's own echo services take ports from there
/** The goals of the `dashboard` row: every row on the page < 300 ms, listen() -> its row p50 < 500 ms (rows.ts). */
export const DASHBOARD_GOALS = { paintMs: 300, updateP50Ms: 500 } as const;

export interface DashboardFigures {
  hosts: number;
  forwards: number;
  paintMs: number;
  fcpMs: number;
  /** Navigation -> the first SSE snapshot in the page (the rest of paintMs is rendering the rows). */
  snapshotMs: number;
  updateP50Ms: number;
  updateP95Ms: number;
  cpuIdlePct: number;
  cpu5Pct: number;
}

function cli(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`port-linker ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** One listeners.mjs per host; `send` writes a command and resolves with its answer line. */
class Listeners {
  readonly #child: ChildProcess;
  #buf = '';
  #waiting: ((line: string) => void)[] = [];
  constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.#buf += d;
      for (let nl = this.#buf.indexOf('\n'); nl >= 0; nl = this.#buf.indexOf('\n')) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.#waiting.shift()?.(line);
      }
    });
  }
  send(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((line) => (line.startsWith('error') ? reject(new Error(`${cmd}: ${line}`)) : resolve(line)));
      this.#child.stdin?.write(`${cmd}\n`);
    });
  }
  stop(): void {
    this.#child.stdin?.end();
  }
}

/** Polls the control socket until the daemon lists `want` forwards. */
async function forwardsListed(client: ControlClient, want: number, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { hosts } = await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
    const n = hosts.reduce((sum, h) => sum + h.forwards.length, 0);
    if (n >= want) return;
    if (performance.now() > deadline) throw new Error(`only ${n}/${want} forwards listed within ${timeoutMs} ms`);
    await delay(50);
  }
}

async function openPage(browser: Browser, env: NodeJS.ProcessEnv): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(cli(['dashboard', '--no-open'], env).trim(), { waitUntil: 'commit' });
  return page;
}

/** Navigation start -> all `rows` forward rows present at an animation frame, and first-contentful-paint (ms). */
async function firstPaint(
  browser: Browser,
  env: NodeJS.ProcessEnv,
  rows: number,
): Promise<{ all: number; fcp: number; snapshot: number }> {
  const page = await openPage(browser, env);
  try {
    const handle = await page.waitForFunction(
      (n) => (document.querySelectorAll('tr[data-forward]').length >= n ? performance.now() : 0),
      rows,
      { polling: 'raf', timeout: 30_000 },
    );
    const all = (await handle.jsonValue()) as number;
    const fcp = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    );
    const snapshot = await page.evaluate(() => performance.getEntriesByName('pl:snapshot')[0]?.startTime ?? Number.NaN);
    return { all, fcp, snapshot };
  } finally {
    await page.close();
  }
}

export async function dashboardFigures(n: number, log: (m: string) => void): Promise<DashboardFigures> {
  const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!chromiumPath) throw new Error('no chromium: scripts/setup-system.sh installs it (apt install chromium)');
  const dir = mkdtempSync(join(tmpdir(), 'pl-dash-bench-'));
  const home = join(dir, 'home');
  const env: NodeJS.ProcessEnv = { ...process.env, PORT_LINKER_HOME: home };
  delete env.XDG_RUNTIME_DIR;
  delete env.PORT_LINKER_LOG;
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  let fleet: HostFleet | undefined;
  let browser: Browser | undefined;
  const listeners: Listeners[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await browser?.close().catch(() => undefined);
      for (const l of listeners) l.stop();
      spawnSync(process.execPath, [CLI, 'daemon', 'stop'], { env, timeout: 30_000 });
      await fleet?.close();
      rmSync(dir, { recursive: true, force: true });
    })();
    return closing;
  };
  onCleanup(close);
  try {
    const t = performance.now();
    [fleet, browser] = await Promise.all([
      HostFleet.start(n),
      chromium.launch({
        executablePath: chromiumPath,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      }),
    ]);
    const hosts = fleet.hosts;
    for (const h of hosts) listeners.push(new Listeners(h.spawn([process.execPath, LISTENERS])));
    // host i listens on BASE + 10 i ... + 9: distinct ports, so every forward keeps its remote port locally
    await Promise.all(listeners.map((l, i) => l.send(`listen ${BASE + PER_HOST * i} ${PER_HOST}`)));
    log(`dashboard: ${n} hosts x ${PER_HOST} listeners in ${Math.round(performance.now() - t)} ms`);
    const key = hosts[0]?.clientKeyPath ?? '';
    const file = join(dir, 'port-linker.yml');
    const profile = (i: number) => `  box${i}:
    host: ${hosts[i]?.target}
    identity: ${key}
    options: { UserKnownHostsFile: ${join(fleet?.dir ?? '', 'known_hosts')}, StrictHostKeyChecking: "yes" }
    ports: "${BASE + PER_HOST * i}-${BASE + PER_HOST * i + PER_HOST - 1},25000-25999"
    protocol: tcp
    transport: stdio
`;
    writeFileSync(file, `version: 1\nprofiles:\n${hosts.map((_, i) => profile(i)).join('')}`);
    cli(['up', '-f', file], env);
    const client = new ControlClient(join(home, 'daemon.sock'));
    const forwards = n * PER_HOST;
    await forwardsListed(client, forwards);
    const { pid } = await client.call<{ pid: number }>('GET', '/v1/status');

    await firstPaint(browser, env, forwards); // warm-up: the first load fills the browser's caches
    const paints: { all: number; fcp: number; snapshot: number }[] = [];
    for (let i = 0; i < 5; i++) paints.push(await firstPaint(browser, env, forwards));

    // update latency: a port opened on box0 -> its row seen in the page
    const page = await openPage(browser, env);
    await page.waitForFunction((k) => document.querySelectorAll('tr[data-forward]').length >= k, forwards, {
      timeout: 30_000,
    });
    await page.evaluate(() => {
      const seen: Record<string, number> = {};
      window.seen = seen;
      new MutationObserver(() => {
        const now = Date.now();
        for (const tr of document.querySelectorAll('tr[data-forward]')) {
          const id = tr.getAttribute('data-forward') ?? '';
          if (!(id in seen)) seen[id] = now;
        }
      }).observe(document.body, { childList: true, subtree: true });
    });
    const box0 = listeners[0] as Listeners;
    const updates: number[] = [];
    for (let k = 0; k < 20; k++) {
      const port = 25000 + k;
      await box0.send(`listen ${port} 1`);
      const ready = Date.now();
      const handle = await page
        .waitForFunction(
          (p) => {
            const seen = window.seen;
            const id = Object.keys(seen).find((x) => x.startsWith('box0|') && x.endsWith(`/${p}`));
            return id === undefined ? 0 : seen[id];
          },
          port,
          { timeout: 10_000 },
        )
        .catch(async (err: Error) => {
          const { hosts } = await client.call<{ hosts: HostView[] }>('GET', '/v1/hosts');
          const listed = hosts.find((h) => h.id === 'box0')?.forwards.map((x) => x.spec.key);
          const seen = await page.evaluate(() => Object.keys(window.seen).slice(0, 5));
          throw new Error(
            `no row for box0's port ${port}: ${err.message}; daemon lists ${listed?.join(' ')}; page saw ${seen.join(' ')}`,
          );
        });
      updates.push(((await handle.jsonValue()) as number) - ready);
      await box0.send(`close ${port} 1`);
      await delay(200 + Math.random() * 300); // off the scanner's phase
    }
    await page.close();

    // daemon CPU: 10 s with no dashboard, then 10 s with 5, one remote port opened and closed every second
    const churnCpu = async (): Promise<number> => {
      const c0 = cpuSeconds(pid);
      const t0 = performance.now();
      for (let s = 0; s < 10; s++) {
        const tick = performance.now();
        await box0.send(`listen 25500 1`);
        await delay(500);
        await box0.send(`close 25500 1`);
        const left = 1000 - (performance.now() - tick);
        if (left > 0) await delay(left);
      }
      return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
    };
    const cpuIdlePct = await churnCpu();
    const pages = await Promise.all(Array.from({ length: 5 }, () => openPage(browser as Browser, env)));
    await Promise.all(
      pages.map((p) =>
        p.waitForFunction((k) => document.querySelectorAll('tr[data-forward]').length >= k, forwards, {
          timeout: 30_000,
        }),
      ),
    );
    const cpu5Pct = await churnCpu();
    await Promise.all(pages.map((p) => p.close()));

    const f: DashboardFigures = {
      hosts: n,
      forwards,
      paintMs: median(paints.map((p) => p.all)),
      fcpMs: median(paints.map((p) => p.fcp)),
      snapshotMs: median(paints.map((p) => p.snapshot)),
      updateP50Ms: percentile(updates, 50),
      updateP95Ms: percentile(updates, 95),
      cpuIdlePct,
      cpu5Pct,
    };
    log(
      `dashboard: ${n} hosts, ${forwards} forwards: all rows ${f.paintMs.toFixed(0)} ms (FCP ${f.fcpMs.toFixed(0)} ms, snapshot in ${f.snapshotMs.toFixed(0)} ms), listen -> row p50 ${f.updateP50Ms.toFixed(0)} ms p95 ${f.updateP95Ms.toFixed(0)} ms, daemon CPU ${cpuIdlePct.toFixed(1)}% -> ${cpu5Pct.toFixed(1)}% with 5 dashboards`,
    );
    return f;
  } finally {
    await close();
  }
}
