import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './errors.ts';
import { PortFilter, parsePortList } from './port-filter.ts';

test('parsePortList reads ports and ranges', () => {
  assert.deepEqual(parsePortList('3000, 5173,8000-8999', '--ports'), [
    { from: 3000, to: 3000 },
    { from: 5173, to: 5173 },
    { from: 8000, to: 8999 },
  ]);
});

test('parsePortList rejects junk with the flag and the item in one line', () => {
  for (const bad of ['abc', '0', '70000', '9-3', '1-2-3', '', ',']) {
    assert.throws(
      () => parsePortList(bad, '--ports'),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, /^--ports: /);
        assert.ok(!e.message.includes('\n'));
        return true;
      },
    );
  }
});

test('default excludes apply unless disabled, and --exclude adds to them', () => {
  const f = PortFilter.fromOptions({ defaultExcludes: true, exclude: '9000-9001' });
  assert.deepEqual(
    [22, 53, 631, 8080, 9000, 9001, 9002].map((p) => f.accepts(p)),
    [false, false, false, true, false, false, true],
  );
  const all = PortFilter.fromOptions({ defaultExcludes: false });
  assert.ok(all.accepts(22));
});

test('--ports limits to the list; excludes still win; agent ports added later are excluded', () => {
  const f = PortFilter.fromOptions({ ports: '20-25,8080', defaultExcludes: true }).withExcluded([8080]);
  assert.deepEqual(
    [21, 22, 8080, 8081].map((p) => f.accepts(p)),
    [true, false, false, false],
  );
});
