import type { FaultRow } from './fault-types.ts';

export const INPUT_FAULTS: FaultRow[] = [];
