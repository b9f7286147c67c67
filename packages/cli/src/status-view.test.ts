import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ForwardInfo } from '@port-linker/forward';
import { renderTable } from './status-view.ts';

function row(port: number, bytesIn: number, plane?: string): ForwardInfo {
  return {
    spec: {
      key: `auto/tcp/${port}`,
      origin: 'auto',
      protocol: 'tcp',
      remoteHost: '127.0.0.1',
      remotePort: port,
      wantedLocalPort: port,
      bind: ['127.0.0.1'],
      process: 'postgres',
    },
    localPort: port,
    addresses: ['127.0.0.1'],
    stats: { open: 1, total: 2, failed: 0, bytesIn, bytesOut: 0 },
    ...(plane ? { plane } : {}),
  };
}

test('the forwards table counts port-linker connections and says "not counted" for ones OpenSSH carries', () => {
  const [head, ours, theirs] = renderTable([row(5432, 2048), row(6379, 0, 'openssh')], false);
  assert.match(head ?? '', /conns +in \/ out$/);
  assert.match(ours ?? '', /localhost:5432 +postgres +1\/2 +2\.0 KiB \/ 0 B$/);
  assert.match(theirs ?? '', /localhost:6379 +postgres +via openssh +not counted$/);
});
