import type { FaultRow } from './fault-types.ts';

export const SECURITY_FAULTS: FaultRow[] = [];
