import { echoRoundTrip, type ProbeResult } from '@port-linker/datapath';
import { longRoundTrip, masterTarget, OpenSshMaster, opensshMerit } from '@port-linker/openssh-plane';
import type { ResolvedHost } from '@port-linker/ssh';
import { pass, type StepOutcome } from './step-result.ts';

const ms = (v: number | undefined) => (v === undefined ? '?' : `${v.toFixed(2)} ms`);

/**
 * The median round trip to the agent's echo through an OpenSSH ControlMaster started as `auto` starts it, or why
 * there is none; the master is stopped after.
 */
export async function opensshRoundTrip(host: ResolvedHost, echoPort: number): Promise<number | string> {
  const target = masterTarget(host);
  if (typeof target === 'string') return target;
  let master: OpenSshMaster;
  try {
    master = await OpenSshMaster.start(target);
  } catch (err) {
    return (err as Error).message;
  }
  try {
    return await echoRoundTrip(await master.connectThrough('127.0.0.1', echoPort));
  } catch (err) {
    return `no echo through the ControlMaster: ${(err as Error).message}`;
  } finally {
    await master.stop();
  }
}

/**
 * The data path line: which way `--data-path auto` would carry forwarded TCP and why, with the measured round trips,
 * and what `--data-path openssh` would measure (`openssh`: its round trip, or why none), said as advice when it
 * would be the shorter one (auto does not take it). Never a failure: SSH channels always work.
 */
export function dataPathOutcome(r: ProbeResult, openssh?: number | string): StepOutcome {
  const times = { ...r.rtt, ...(typeof openssh === 'number' ? { openssh } : {}) };
  const long = longRoundTrip(r.rtt);
  const merit = typeof openssh === 'number' || long ? opensshMerit(times, r.kind) : undefined;
  if (r.kind === 'direct') r.session.close();
  const measured = [
    `SSH ${ms(r.rtt.ssh)}`,
    ...(r.rtt.direct !== undefined ? [`direct ${ms(r.rtt.direct)}`] : []),
    ...(typeof openssh === 'number' ? [`OpenSSH ${ms(openssh)}`] : []),
  ].join(', ');
  const opensshSays = merit?.take
    ? `; --data-path openssh would be shorter (${merit.reason})`
    : merit
      ? `; not --data-path openssh: ${merit.reason}`
      : openssh === undefined
        ? ''
        : `; --data-path openssh: ${openssh}`;
  if (r.kind === 'direct')
    return pass(`auto would use direct (${r.reason}${opensshSays}): 64 B round trips ${measured}`);
  const times_ = r.rtt.direct !== undefined || typeof openssh === 'number' ? ` (${measured})` : '';
  return pass(`auto uses SSH channels: ${r.reason}${opensshSays}${times_}; --data-path direct|openssh forces another`);
}
