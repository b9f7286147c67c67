import { roundTrips, sequentialConnections } from './net-probe.ts';
import { percentile } from './stats.ts';

/** 64-byte round trips on one connection: p50 and p99 in microseconds. */
export async function roundTripFigures(port: number, count: number): Promise<{ p50: number; p99: number }> {
  const us = await roundTrips(port, count);
  return { p50: percentile(us, 50), p99: percentile(us, 99) };
}

/** `count` sequential connections (connect, one round trip, close): total ms and per-connection p50 us. */
export async function sequentialFigures(port: number, count: number): Promise<{ totalMs: number; p50: number }> {
  const t0 = performance.now();
  const us = await sequentialConnections(port, count);
  return { totalMs: performance.now() - t0, p50: percentile(us, 50) };
}
