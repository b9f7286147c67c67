import { sleep } from './backoff.ts';

/** What a link check needs of a connection. */
export interface CheckedLink {
  /** One round trip; false when no answer within `timeoutMs`. */
  checkAlive(timeoutMs: number): Promise<boolean>;
  /** How long nothing has come from the server, ms. */
  readonly silentMs: number;
}

/** `busy`: no answer yet, but the link keeps receiving (the answer queues behind data): alive. */
export type LinkVerdict = { alive: true; busy?: true } | { alive: false; reason: string; serverReachable: boolean };

export interface LinkCheckOptions {
  /**
   * Decided after this long without an answer (default 3 s): dead when nothing came from the server meanwhile,
   * alive (busy) when something did.
   */
  timeoutMs?: number;
  /**
   * A fresh TCP connect to the server (true when it opens within `timeoutMs`); omitted through jump hosts and
   * ProxyCommand, where the first hop is not the server.
   */
  reachable?: (timeoutMs: number) => Promise<boolean>;
}

const TICK_MS = 100;
const PROBE_EVERY_MS = 500;
/** After a fresh connection got through, how long the old one may stay silent (at least; 3 round trips when more). */
const GRACE_MS = 1000;

/**
 * Whether a link still works. One round trip over it; while it is unanswered:
 * - a link that has been silent (no byte from the server) for `timeoutMs` is dead: the network is gone;
 * - a link that stays silent for a second after a fresh TCP connection to the same server got through is dead: the
 *   network is back but this connection sits in TCP's retransmission backoff after an outage (the kernel's next
 *   retry of what it sent during the outage can be 10 s or more away), so a new connection is the faster way back;
 * - a link that received something since the check began is alive after `timeoutMs` even unanswered: on a slow
 *   link under load the check queues behind megabytes of channel data, and dropping it would cut every
 *   connection it carries (ssh -L would not); its keepalives still end it if it goes quiet.
 */
export async function checkLink(conn: CheckedLink, opts: LinkCheckOptions = {}): Promise<LinkVerdict> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const t0 = performance.now();
  const done = new AbortController();
  let answered: boolean | undefined;
  // the round trip's own limit is only a backstop: the verdict comes from the loop below
  void conn.checkAlive(timeoutMs * 10).then((ok) => {
    answered = ok;
  });
  /** When a fresh connection first got through, and how long its connect took. */
  let through: { at: number; ms: number } | undefined;
  const { reachable } = opts;
  if (reachable) {
    void (async () => {
      while (!done.signal.aborted && !through) {
        const p0 = performance.now();
        if (await reachable(PROBE_EVERY_MS)) through = { at: performance.now(), ms: performance.now() - p0 };
        else await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - p0)), done.signal);
      }
    })();
  }
  try {
    for (;;) {
      if (answered !== undefined) {
        return answered
          ? { alive: true }
          : { alive: false, reason: 'the round trip over the link failed', serverReachable: false };
      }
      const elapsed = performance.now() - t0;
      const silentSinceStart = conn.silentMs >= elapsed;
      if (elapsed >= timeoutMs && conn.silentMs >= timeoutMs)
        return { alive: false, reason: `no answer within ${timeoutMs / 1000} s`, serverReachable: false };
      if (elapsed >= timeoutMs && !silentSinceStart) return { alive: true, busy: true };
      if (through && silentSinceStart && performance.now() - through.at >= Math.max(GRACE_MS, 3 * through.ms)) {
        const silent = (conn.silentMs / 1000).toFixed(1);
        return {
          alive: false,
          reason: `the server takes new connections but this one has been silent for ${silent} s`,
          serverReachable: true,
        };
      }
      await sleep(TICK_MS, done.signal);
    }
  } finally {
    done.abort();
  }
}
