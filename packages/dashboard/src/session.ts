// The page's link to the daemon: trades the URL's one-time code for a session, streams the state, sends actions.
import type { DashboardState } from './model.ts';

export class SessionError extends Error {}

/**
 * Starts the session: the `#token=` code of the URL (removed from the address bar at once, so it is neither
 * bookmarked nor shared) is traded for the HttpOnly cookie and a CSRF token; on a reload, the cookie alone answers.
 */
export async function openSession(): Promise<string> {
  const code = new URLSearchParams(location.hash.slice(1)).get('token');
  if (code !== null) history.replaceState(null, '', location.pathname + location.search);
  const res = code
    ? await fetch('/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code }),
        credentials: 'same-origin',
      })
    : await fetch('/session', { credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as { csrf?: string; error?: { message?: string } };
  if (!res.ok || !body.csrf)
    throw new SessionError(
      body.error?.message ?? 'no dashboard session: open the link that `port-linker dashboard` prints',
    );
  return body.csrf;
}

/** An action: POST with the session's CSRF token; resolves with the error message, if any. */
export async function post(csrf: string, path: string, body?: unknown): Promise<string | undefined> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    credentials: 'same-origin',
  }).catch((err: Error) => err);
  if (res instanceof Error) return `the daemon did not answer: ${res.message}`;
  if (res.ok) return undefined;
  const answer = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  return answer.error?.message ?? `${res.status} ${res.statusText}`;
}

/** The live state: `onState` for every snapshot, `onLink` when the stream drops or comes back (it reconnects). */
export function stream(onState: (s: DashboardState) => void, onLink: (live: boolean) => void): EventSource {
  const source = new EventSource('/v1/dashboard/stream');
  source.addEventListener('snapshot', (e) => {
    if (performance.getEntriesByName('pl:snapshot').length === 0) performance.mark('pl:snapshot'); // for the bench
    onState(JSON.parse((e as MessageEvent<string>).data) as DashboardState);
    onLink(true);
  });
  source.addEventListener('error', () => onLink(false));
  return source;
}
