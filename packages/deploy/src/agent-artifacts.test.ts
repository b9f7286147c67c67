import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, test } from 'node:test';
import { AgentArtifacts } from './agent-artifacts.ts';

describe('AgentArtifacts.defaultDir', () => {
  test('finds packages/agent/dist from the sources, the CLI bundle and its chunks', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'pl-artifacts-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dist = join(root, 'packages', 'agent', 'dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(join(dist, 'agent.cjs'), '// agent');
    for (const from of [
      ['packages', 'deploy', 'src', 'agent-artifacts.ts'],
      ['packages', 'cli', 'dist', 'main.js'],
      ['packages', 'cli', 'dist', 'chunks', 'run-ABC123.js'],
    ]) {
      const file = join(root, ...from);
      mkdirSync(join(file, '..'), { recursive: true });
      assert.equal(AgentArtifacts.defaultDir(file), dist + sep, from.join('/'));
    }
    assert.equal(
      new AgentArtifacts(AgentArtifacts.defaultDir(join(root, 'packages', 'cli', 'dist', 'chunks', 'x.js'))).script()
        ?.size,
      8,
    );
  });

  test('without a build anywhere above, the sources layout is assumed (and script() says it is not built)', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'pl-artifacts-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const dir = AgentArtifacts.defaultDir(join(root, 'packages', 'deploy', 'src', 'agent-artifacts.ts'));
    assert.equal(dir, join(root, 'packages', 'agent', 'dist') + sep);
    assert.equal(new AgentArtifacts(dir).script(), undefined);
  });
});
