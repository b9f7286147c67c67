import type { ProbeResult } from '@port-linker/datapath';
import { pass, type StepOutcome } from './step-result.ts';

const ms = (v: number | undefined) => (v === undefined ? '?' : `${v.toFixed(2)} ms`);

/**
 * The data path line: which way `--data-path auto` would carry forwarded TCP and why, with both measured round trips.
 * Never a failure: SSH channels always work; the line says what direct would need when it is not taken.
 */
export function dataPathOutcome(r: ProbeResult): StepOutcome {
  if (r.kind === 'direct') {
    r.session.close();
    return pass(
      `auto would use direct (${r.reason}): 64 B round trip ${ms(r.rtt.direct)} vs ${ms(r.rtt.ssh)} through SSH`,
    );
  }
  const times = r.rtt.direct !== undefined ? ` (direct ${ms(r.rtt.direct)}, SSH ${ms(r.rtt.ssh)})` : '';
  return pass(`auto uses SSH channels: ${r.reason}${times}; --data-path direct forces the other`);
}
