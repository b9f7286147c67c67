import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DashboardState as PageState } from '../../dashboard/src/model.ts';
import type { DashboardState } from './daemon.ts';

test('the daemon state the dashboard stream sends is what the page reads (checked by the compiler)', () => {
  // a compile error here means the daemon's objects changed under the page: update packages/dashboard/src/model.ts
  const asPage = (s: DashboardState): PageState => s;
  const state: DashboardState = { version: '0', hosts: [], leases: [] };
  assert.deepEqual(asPage(state), state);
});
