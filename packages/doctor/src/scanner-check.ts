import type { AgentLink } from '@port-linker/deploy';
import type { ListeningSocket, Message } from '@port-linker/proto';
import type { SshConnection } from '@port-linker/ssh';
import { fail, pass, type StepOutcome } from './step-result.ts';

/** One ScanRequest (TCP and UDP) answered by the agent. */
export function scanOnce(link: AgentLink, timeoutMs = 5000): Promise<ListeningSocket[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      link.off('message', on);
      reject(new Error(`no ScanResponse within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: Message) => {
      if (m.type !== 'ScanResponse') return;
      clearTimeout(timer);
      link.off('message', on);
      resolve(m.sockets);
    };
    link.on('message', on);
    link.send({ type: 'ScanRequest', tcp: true, udp: true });
  });
}

/** How many processes of other users there are and how many of them the remote user cannot look into. */
export async function otherUsersVisibility(
  conn: SshConnection,
): Promise<{ uid: number; others: number; hidden: number } | undefined> {
  const script = `me=$(id -u)
others=$(ls -ldn /proc/[0-9]* 2>/dev/null | awk -v me="$me" '$3 != me' | wc -l)
hidden=$(ls /proc/[0-9]*/fd 2>&1 >/dev/null | grep -c 'ermission denied')
echo "$me $others $hidden"`;
  const r = await conn.exec('sh -s', { stdin: script, timeoutMs: 10_000 }).catch(() => undefined);
  const m = /^(\d+) (\d+) (\d+)/.exec(r?.stdout.toString('utf8').trim() ?? '');
  if (!m) return undefined;
  return { uid: Number(m[1]), others: Number(m[2]), hidden: Number(m[3]) };
}

/** The scanner step's line from the agent's backend, one scan and the visibility check. */
export function scannerOutcome(
  backend: string,
  sockets: readonly ListeningSocket[],
  seen: { uid: number; others: number; hidden: number } | undefined,
): StepOutcome {
  if (backend === 'none')
    return fail(
      'the remote has no way to list sockets (no /proc/net, ss, netstat or sockstat)',
      'install iproute2 (ss) or net-tools (netstat) on the remote',
    );
  const unnamed = sockets.filter((s) => s.process === '').length;
  const counts = `${sockets.length} listening sockets, ${unnamed} without a process name`;
  let who: string;
  if (!seen) who = 'could not check whose processes it can see';
  else if (seen.uid === 0) who = 'runs as root: sees every process';
  else if (seen.hidden === 0) who = `uid ${seen.uid} sees every process here (${seen.others} of other users)`;
  else
    who = `uid ${seen.uid} cannot look into ${seen.hidden} processes of other users: their ports are mirrored without a process name`;
  return pass(`${backend}; ${counts}; ${who}`);
}
