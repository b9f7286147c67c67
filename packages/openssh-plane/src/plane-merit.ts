import { SSH2_WINDOW, windowForRoundTrip } from '@port-linker/ssh';

/** Median 64-byte round trips to the agent's loopback echo, in ms, through each path measured. */
export interface PathTimes {
  ssh?: number;
  direct?: number;
  openssh?: number;
}

/** Whether `--data-path auto` hands a host's TCP forwards to the OpenSSH plane, and why (for the data_path event). */
export type OpenSshMerit = { take: true; reason: string } | { take: false; reason: string };

const ms = (v: number) => `${v.toFixed(2)} ms`;

/**
 * `auto`'s rule for the OpenSSH plane, given what the probe measured and the path it chose without it (`chosen`):
 * OpenSSH wins when its round trip is the shorter one, except on a long round trip, where port-linker's own SSH
 * channels open a wider receive window than OpenSSH's fixed 2 MiB (packages/ssh/src/channel-window.ts: on the 50 ms
 * WAN row that is 1.4x OpenSSH's download) and so keep the forwards.
 */
export function opensshMerit(times: PathTimes, chosen: 'ssh' | 'direct'): OpenSshMerit {
  const long = longRoundTrip(times);
  if (long) return { take: false, reason: long };
  const base = chosen === 'direct' ? times.direct : times.ssh;
  const via = chosen === 'direct' ? 'the direct path' : 'SSH channels';
  if (times.openssh === undefined) return { take: false, reason: 'no round trip through OpenSSH measured' };
  if (base === undefined) return { take: false, reason: `no round trip through ${via} to compare with` };
  if (times.openssh >= base) return { take: false, reason: `measured: a round trip through ${via} is as short` };
  return {
    take: true,
    reason: `measured: a round trip through OpenSSH ${ms(times.openssh)} vs ${ms(base)} through ${via}`,
  };
}

/**
 * Why the link is too long for the OpenSSH plane whatever it measures (then it need not be started to be timed), or
 * undefined.
 */
export function longRoundTrip(times: PathTimes): string | undefined {
  // every path crosses the same network: the shortest round trip measured is the link's
  const measured = [times.ssh, times.direct, times.openssh].filter((t): t is number => t !== undefined);
  if (measured.length === 0) return undefined;
  const rtt = Math.min(...measured);
  if (windowForRoundTrip(rtt) <= SSH2_WINDOW) return undefined;
  const mib = Math.round(windowForRoundTrip(rtt) / 2 ** 20);
  return `a ${ms(rtt)} round trip: port-linker's SSH channels open a ${mib} MiB window, OpenSSH's stays at 2 MiB`;
}
