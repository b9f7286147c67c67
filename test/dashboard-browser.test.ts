// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real daemon and a real
// sshd: the link's code becomes a session, a service started on the remote appears without a reload, the page's
// Disconnect ends the host, and a page opened without the code gets nothing.
// Screenshots of the main views go to $PORT_LINKER_SCREENSHOTS_DIR (docs/ when refreshing the README's), else a temp dir.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { RemoteHost, type Service } from './harness/index.ts';
import { runCli } from './support/cli-run.ts';
import type { PageDocument, PageWindow } from './support/page-dom.ts';

declare const document: PageDocument;
declare const window: PageWindow;

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ARGS = [
  '--headless',
  '--no-sandbox', // root in CI: chromium refuses its sandbox as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface LsHost {
  host: string;
  state: string;
  forwards: { localPort: number }[];
}

describe('dashboard in chromium: live rows, actions, and no session without the code', () => {
  let home: string;
  let shots: string;
  let env: NodeJS.ProcessEnv;
  let remote: RemoteHost;
  let browser: Browser;
  let link: string;
  const services: Service[] = [];

  before(async () => {
    assert.ok(CHROMIUM, 'chromium is installed by scripts/setup-system.sh (apt install chromium)');
    home = mkdtempSync(join(tmpdir(), 'pl-dash-browser-'));
    shots = process.env.PORT_LINKER_SCREENSHOTS_DIR ?? join(home, 'screenshots');
    mkdirSync(shots, { recursive: true });
    env = { PORT_LINKER_HOME: home, XDG_RUNTIME_DIR: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined };
    [remote, browser] = await Promise.all([
      RemoteHost.start(),
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
    ]);
    services.push(await remote.serve('http', 0, '0.0.0.0'));
    const start = await runCli(['daemon', 'start'], env);
    assert.equal(start.code, 0, start.stderr);
    // SSH channels: the byte counters below are port-linker's own (a forward OpenSSH carries says "not counted")
    const connect = await runCli(
      ['connect', ...remote.portLinkerArgs(), '--data-path', 'ssh', remote.target],
      env,
      60_000,
    );
    assert.equal(connect.code, 0, connect.stderr);
    await lsUntil((hs) => hs.some((h) => h.forwards.some((f) => f.localPort === services[0]?.port)), 'first forward');
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await runCli(['daemon', 'stop'], env).catch(() => {});
    for (const s of services) await s.stop().catch(() => {});
    await remote?.close();
    rmSync(home, { recursive: true, force: true });
  });

  async function lsUntil(pred: (hosts: LsHost[]) => boolean, what: string): Promise<LsHost[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await runCli(['ls', '--json'], env);
      const hosts = r.code === 0 ? (JSON.parse(r.stdout) as { hosts: LsHost[] }).hosts : [];
      if (pred(hosts)) return hosts;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${r.stdout}${r.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** A fresh link (each code is single-use) opened in a new page. */
  async function openDashboard(options: { colorScheme?: 'dark' | 'light'; width?: number } = {}): Promise<Page> {
    const out = await runCli(['dashboard', '--no-open'], env);
    assert.equal(out.code, 0, out.stderr);
    link = out.stdout.trim();
    const page = await browser.newPage({
      colorScheme: options.colorScheme ?? 'light',
      viewport: { width: options.width ?? 1280, height: 800 },
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(link);
    await page.locator('tr[data-host]').first().waitFor({ timeout: 15_000 });
    assert.deepEqual(errors, [], 'no script error and no CSP violation on the page');
    return page;
  }

  test('the link opens a session: the code leaves the address bar, the host and its forward are listed', async () => {
    const page = await openDashboard();
    assert.equal(
      await page.evaluate(() => window.location.hash),
      '',
      'the one-time code is removed from the address bar',
    );
    const cookies = await page.context().cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]?.httpOnly, true);
    assert.equal(cookies[0]?.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the session cookie is not readable by script');
    const row = page.locator(`tr[data-forward][data-local-port="${services[0]?.port}"]`);
    await row.waitFor({ timeout: 5_000 });
    const href = await row.locator('a').first().getAttribute('href');
    assert.equal(href, `http://localhost:${services[0]?.port}/`);
    await page.close();
  });

  test('traffic and a lease show up live; Release on the page ends the lease', async () => {
    const page = await openDashboard();
    const port = services[0]?.port as number;
    const alloc = await runCli(['alloc', 'api-dev', '--ttl', '600'], env);
    assert.equal(alloc.code, 0, alloc.stderr);
    const leased = Number(alloc.stdout.trim());
    await page.locator(`tr[data-lease="${leased}"]`).waitFor({ timeout: 5_000 });
    // traffic through the forward: the byte counters and the sparkline move
    const row = page.locator(`tr[data-forward][data-local-port="${port}"]`);
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/req${i}`);
      assert.match(await res.text(), /^hello from/);
      await new Promise((r) => setTimeout(r, 250)); // spread over time: the sparkline samples per snapshot
    }
    await page.waitForFunction(
      (p) =>
        !/^0 B \/ 0 B$/.test(
          document.querySelector(`tr[data-local-port="${p}"] td[data-label="In / out"]`)?.textContent?.trim() ?? '',
        ),
      port,
      { timeout: 5_000 },
    );
    assert.notEqual((await row.locator('td[data-label="In / out"]').textContent())?.trim(), '0 B / 0 B');
    await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
    await page.locator(`tr[data-lease="${leased}"] button[data-action="release"]`).click();
    await page.locator(`tr[data-lease="${leased}"]`).waitFor({ state: 'detached', timeout: 5_000 });
    const leases = await runCli(['leases', '--json'], env);
    assert.equal(leases.code, 0, leases.stderr);
    assert.ok(!leases.stdout.includes(`"port":${leased}`), `lease ${leased} released: ${leases.stdout}`);
    await page.close();
  });

  test('a service started on the remote appears without a reload (loose bound: 5 s; the bench measures it)', async () => {
    const page = await openDashboard();
    const before = await page.evaluate(() => performance.timeOrigin);
    const started = Date.now();
    const svc = await remote.serve('tcp-echo', 0, '0.0.0.0');
    services.push(svc);
    await page.locator(`tr[data-forward][data-local-port="${svc.port}"]`).waitFor({ timeout: 5_000 });
    const ms = Date.now() - started;
    assert.equal(await page.evaluate(() => performance.timeOrigin), before, 'the same document: no reload');
    assert.ok(ms < 5_000, `row after ${ms} ms`);
    await page.close();
  });

  test('phone width and dark mode render (screenshots)', async () => {
    const phone = await openDashboard({ width: 390 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scroll at phone width (${overflow} px too wide)`);
    await phone.screenshot({ path: join(shots, 'dashboard-phone.png'), fullPage: true });
    await phone.close();
    const dark = await openDashboard({ colorScheme: 'dark' });
    const bg = await dark.evaluate(() => window.getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    assert.ok((r ?? 255) + (g ?? 255) + (b ?? 255) < 200, `a dark background in dark mode (got ${bg})`);
    await dark.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true });
    await dark.close();
  });

  test('a page without the code gets nothing: an error view, and the API answers 401', async () => {
    const page = await browser.newPage();
    await page.goto(new URL(link).origin);
    await page.locator('main[data-fatal]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('tr[data-host]').count(), 0);
    const status = await page.evaluate(async () => (await fetch('/v1/hosts')).status);
    assert.equal(status, 401);
    // a used code is refused too
    await page.goto(link);
    await page.locator('main[data-fatal]').waitFor({ timeout: 10_000 });
    await page.close();
  });

  test("the page's Disconnect ends the host in the daemon", async () => {
    const page = await openDashboard();
    await page.locator('tr[data-host] button[data-action="disconnect"]').click();
    await page.locator('tr[data-host][data-state="disconnected"]').waitFor({ timeout: 10_000 });
    await lsUntil((hs) => hs.length === 0, 'the host gone from `ls`');
    await page.close();
  });
});
