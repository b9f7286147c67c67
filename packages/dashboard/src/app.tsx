/** @jsxImportSource preact */
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type DashboardState,
  type ForwardRow,
  formatBytes,
  formatSpan,
  forwardRows,
  type HostView,
  leaseSecondsLeft,
  matches,
  sparklinePoints,
  TrafficHistory,
} from './model.ts';
import { openSession, post, SessionError, stream } from './session.ts';

const traffic = new TrafficHistory();

function Sparkline({ values }: { values: number[] }) {
  const w = 80;
  const h = 18;
  return (
    <svg class="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} aria-hidden="true">
      <polyline points={sparklinePoints(values, w, h)} />
    </svg>
  );
}

function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

function StatePill({ state }: { state: string }) {
  return <span class={`pill ${state}`}>{state}</span>;
}

interface Actions {
  run: (what: string, path: string, body?: unknown) => void;
  busy: Set<string>;
}

function HostRow({ h, act, now }: { h: HostView; act: Actions; now: number }) {
  const path = `/v1/hosts/${encodeURIComponent(h.id)}`;
  return (
    <tr data-host={h.id} data-state={h.state}>
      <td data-label="Host">
        <strong>{h.id}</strong>
        {h.id !== h.target && <div class="sub">{h.target}</div>}
        {h.profile && <div class="sub">profile {h.profile}</div>}
      </td>
      <td data-label="State">
        <StatePill state={h.state} />
        {h.error && h.state !== 'connected' && <div class="sub err">{h.error}</div>}
      </td>
      <td data-label="Latency">{h.latencyMs === undefined ? '–' : `${h.latencyMs} ms`}</td>
      <td data-label="Since" title={new Date(h.since).toLocaleString()}>
        {formatSpan(now - h.since)}
      </td>
      <td data-label="Reconnects">
        {h.history.length > 0 ? (
          <details>
            <summary>{h.reconnects}</summary>
            <ol class="history">
              {[...h.history].reverse().map((e) => (
                <li key={e.ts + e.event}>
                  <time>{new Date(e.ts).toLocaleTimeString()}</time> {e.event.replace('_', ' ')}
                  {e.detail ? `: ${e.detail}` : ''}
                </li>
              ))}
            </ol>
          </details>
        ) : (
          h.reconnects
        )}
      </td>
      <td data-label="Forwards">{h.forwards.length}</td>
      <td class="actions">
        <button
          type="button"
          disabled={act.busy.has(h.id)}
          onClick={() => act.run(h.id, `${path}/disconnect`)}
          data-action="disconnect"
        >
          Disconnect
        </button>
      </td>
    </tr>
  );
}

function GoneHostRow({ h, act }: { h: HostView; act: Actions }) {
  return (
    <tr data-host={h.id} data-state="disconnected" class="gone">
      <td data-label="Host">
        <strong>{h.id}</strong>
      </td>
      <td data-label="State">
        <StatePill state="disconnected" />
      </td>
      <td data-label="Latency">–</td>
      <td data-label="Since">–</td>
      <td data-label="Reconnects">–</td>
      <td data-label="Forwards">0</td>
      <td class="actions">
        <button
          type="button"
          disabled={act.busy.has(h.id)}
          onClick={() => act.run(h.id, '/v1/hosts', h.spec)}
          data-action="connect"
        >
          Connect
        </button>
      </td>
    </tr>
  );
}

function copy(text: string, done: (msg: string) => void): void {
  navigator.clipboard?.writeText(text).then(
    () => done(`copied ${text}`),
    () => done(`copy failed; the link is ${text}`),
  );
}

const planeName = (plane: string) => (plane === 'openssh' ? 'OpenSSH' : plane);
const planeTitle = (plane: string) =>
  `${planeName(plane)}'s client carries these connections (data path ${plane}): port-linker does not see their bytes`;

function ForwardRowView({ f, act, say }: { f: ForwardRow; act: Actions; say: (m: string) => void }) {
  const path = `/v1/hosts/${encodeURIComponent(f.host)}/forwards/${encodeURIComponent(f.key)}`;
  const local = f.link ? (
    <a href={f.link} target="_blank" rel="noopener noreferrer">
      localhost:{f.localPort}
    </a>
  ) : (
    `localhost:${f.localPort}`
  );
  return (
    <tr data-forward={f.id} data-local-port={f.localPort} class={f.running ? '' : 'stopped'}>
      <td data-label="Local">
        {local} <span class="proto">{f.protocol}</span>
      </td>
      <td data-label="Remote">
        {f.remote}
        <div class="sub">{f.host}</div>
      </td>
      <td data-label="Process">{f.process || '–'}</td>
      <td data-label="Label">{f.label || '–'}</td>
      <td data-label="Connections" title={f.plane ? planeTitle(f.plane) : `${f.total} in all`}>
        {!f.running ? 'stopped' : f.plane ? `via ${planeName(f.plane)}` : `${f.open} / ${f.total}`}
      </td>
      <td data-label="In / out" title={f.plane ? planeTitle(f.plane) : undefined}>
        {f.plane ? 'not counted' : `${formatBytes(f.bytesIn)} / ${formatBytes(f.bytesOut)}`}
      </td>
      <td data-label="Traffic">
        <Sparkline values={traffic.rates(f.id)} />
      </td>
      <td class="actions">
        {f.link && (
          <button type="button" onClick={() => copy(f.link as string, say)} data-action="copy">
            Copy link
          </button>
        )}
        {f.running ? (
          <>
            <button
              type="button"
              disabled={act.busy.has(f.id)}
              onClick={() => act.run(f.id, `${path}/restart`)}
              data-action="restart"
            >
              Restart
            </button>
            <button
              type="button"
              disabled={act.busy.has(f.id)}
              onClick={() => act.run(f.id, `${path}/stop`)}
              data-action="stop"
            >
              Stop
            </button>
          </>
        ) : (
          <button
            type="button"
            disabled={act.busy.has(f.id)}
            onClick={() => act.run(f.id, `${path}/start`)}
            data-action="start"
          >
            Start
          </button>
        )}
      </td>
    </tr>
  );
}

function App() {
  const [csrf, setCsrf] = useState<string>();
  const [fatal, setFatal] = useState<string>();
  const [state, setState] = useState<DashboardState>();
  const [known, setKnown] = useState(new Map<string, HostView>());
  const [live, setLive] = useState(false);
  const [filter, setFilter] = useState('');
  const [target, setTarget] = useState('');
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(new Set<string>());
  const now = useNow(1000);

  useEffect(() => {
    let source: EventSource | undefined;
    openSession().then(
      (token) => {
        setCsrf(token);
        source = stream(
          (s) => {
            traffic.sample(forwardRows(s), Date.now());
            setState(s);
            setKnown((k) => new Map([...k, ...s.hosts.map((h) => [h.id, h] as const)]));
          },
          (ok) => {
            setLive(ok);
            if (!ok && source?.readyState === EventSource.CLOSED)
              setFatal('the dashboard session ended (the daemon restarted?): run `port-linker dashboard` again');
          },
        );
      },
      (err: unknown) => setFatal(err instanceof SessionError ? err.message : String(err)),
    );
    return () => source?.close();
  }, []);

  const act: Actions = {
    busy,
    run: (what, path, body) => {
      if (!csrf) return;
      setBusy((b) => new Set(b).add(what));
      void post(csrf, path, body).then((error) => {
        setBusy((b) => {
          const n = new Set(b);
          n.delete(what);
          return n;
        });
        setNotice(error ? `${what}: ${error}` : '');
      });
    },
  };

  const rows = useMemo(() => (state ? forwardRows(state) : []), [state]);
  if (fatal)
    return (
      <main class="fatal" data-fatal>
        <h1>port-linker</h1>
        <p>{fatal}</p>
      </main>
    );
  if (!state) return <main class="loading">connecting to the daemon…</main>;

  const current = new Set(state.hosts.map((h) => h.id));
  const gone = [...known.values()].filter((h) => !current.has(h.id));
  const hosts = state.hosts.filter((h) => matches(filter, h.id, h.target, h.state, h.profile));
  const shownGone = gone.filter((h) => matches(filter, h.id, h.target, 'disconnected'));
  const forwards = rows.filter((f) =>
    matches(filter, f.host, f.localPort, f.remote, f.process, f.label, f.protocol, f.running ? '' : 'stopped'),
  );
  const leases = state.leases.filter((l) => matches(filter, l.service_name, l.port, l.pid));
  return (
    <main>
      <header>
        <h1>
          port-linker <span class={`link ${live ? 'live' : 'down'}`}>{live ? 'live' : 'reconnecting…'}</span>
        </h1>
        <input
          type="search"
          placeholder="Filter hosts, ports, processes, labels…"
          value={filter}
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          aria-label="Filter"
        />
        <form
          class="connect"
          onSubmit={(e) => {
            e.preventDefault();
            const t = target.trim();
            if (!t) return;
            act.run(t, '/v1/hosts', { target: t });
            setTarget('');
          }}
        >
          <input
            placeholder="user@host"
            value={target}
            onInput={(e) => setTarget((e.target as HTMLInputElement).value)}
            aria-label="Host to connect"
          />
          <button type="submit">Connect</button>
        </form>
      </header>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <section>
        <h2>
          Hosts <span class="count">{state.hosts.length}</span>
        </h2>
        <table id="hosts">
          <thead>
            <tr>
              <th>Host</th>
              <th>State</th>
              <th>Latency</th>
              <th>Since</th>
              <th>Reconnects</th>
              <th>Forwards</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => (
              <HostRow key={h.id} h={h} act={act} now={now} />
            ))}
            {shownGone.map((h) => (
              <GoneHostRow key={h.id} h={h} act={act} />
            ))}
          </tbody>
        </table>
        {hosts.length + shownGone.length === 0 && (
          <p class="empty">{state.hosts.length ? 'no host matches the filter' : 'no hosts: port-linker up'}</p>
        )}
      </section>
      <section>
        <h2>
          Forwards <span class="count">{rows.filter((r) => r.running).length}</span>
        </h2>
        <table id="forwards">
          <thead>
            <tr>
              <th>Local</th>
              <th>Remote</th>
              <th>Process</th>
              <th>Label</th>
              <th>Connections</th>
              <th>In / out</th>
              <th>Traffic</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {forwards.map((f) => (
              <ForwardRowView key={f.id} f={f} act={act} say={setNotice} />
            ))}
          </tbody>
        </table>
        {forwards.length === 0 && <p class="empty">no forwards{filter ? ' match the filter' : ''}</p>}
      </section>
      <section>
        <h2>
          Leases <span class="count">{state.leases.length}</span>
        </h2>
        <table id="leases">
          <thead>
            <tr>
              <th>Service</th>
              <th>Port</th>
              <th>TTL left</th>
              <th>Process</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {leases.map((l) => (
              <tr key={l.port} data-lease={l.port}>
                <td data-label="Service">{l.service_name}</td>
                <td data-label="Port">{l.port}</td>
                <td data-label="TTL left">{leaseSecondsLeft(l, now)} s</td>
                <td data-label="Process">{l.pid ?? '–'}</td>
                <td class="actions">
                  <button
                    type="button"
                    disabled={busy.has(`lease ${l.port}`)}
                    onClick={() => act.run(`lease ${l.port}`, '/v1/release', { port: l.port })}
                    data-action="release"
                  >
                    Release
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {leases.length === 0 && <p class="empty">no leases{filter ? ' match the filter' : ': port-linker run'}</p>}
      </section>
      <footer>daemon {state.version}</footer>
    </main>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
