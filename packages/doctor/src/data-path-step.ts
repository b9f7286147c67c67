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
 * The data path line: which way `--data-path auto` would carry forwarded TCP and why, with the measured round trips
 * (SSH channels, direct, and the OpenSSH plane when it could be measured: `openssh`, a number or why not). Never a
 * failure: SSH channels always work; the line says what the others would need when they are not taken.
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
  if (merit?.take) return pass(`auto would use OpenSSH (${merit.reason}): 64 B round trips ${measured}`);
  const notOpenSsh = merit
    ? `; not OpenSSH: ${merit.reason}`
    : openssh === undefined
      ? ''
      : `; not OpenSSH: ${openssh}`;
  if (r.kind === 'direct')
    return pass(`auto would use direct (${r.reason}${notOpenSsh}): 64 B round trips ${measured}`);
  const times_ = r.rtt.direct !== undefined || typeof openssh === 'number' ? ` (${measured})` : '';
  return pass(`auto uses SSH channels: ${r.reason}${notOpenSsh}${times_}; --data-path direct|openssh forces another`);
}
