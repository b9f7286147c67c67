import type { CommandIo } from './command-io.ts';
import { ensureDaemon } from './daemon-client.ts';

/**
 * `port-linker dashboard [--no-open]`: the daemon's dashboard (started when none runs). Prints the page's URL with a
 * one-time code in its fragment (valid two minutes, traded by the page for a session cookie) and opens it when
 * there is a display.
 */
export async function dashboardCommand(opts: { open: boolean }, io: CommandIo): Promise<number> {
  const { client } = await ensureDaemon(io.env, (line) => io.stderr(`${line}\n`));
  const d = await client.call<{ url: string; code: string; expires_in_seconds: number }>('POST', '/v1/dashboard');
  const link = `${d.url}#token=${d.code}`;
  io.stdout(`${link}\n`);
  const { hasDisplay, openBrowser } = await import('../notifier.ts');
  if (opts.open && hasDisplay(io.env)) {
    openBrowser(link, (err) => io.stderr(`could not open a browser (${err.message}): open the link above\n`));
    io.stderr(`opened in your browser; the link works once, within ${d.expires_in_seconds} s\n`);
  } else {
    io.stderr(`open the link in a browser on this machine; it works once, within ${d.expires_in_seconds} s\n`);
  }
  return 0;
}
