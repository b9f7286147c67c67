import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentUsageError, DEFAULT_AGENT_OPTIONS, parseAgentArgs } from './agent-options.ts';

test('parseAgentArgs: defaults, both spellings, and one-line errors', () => {
  assert.deepEqual(parseAgentArgs([]), DEFAULT_AGENT_OPTIONS);
  assert.deepEqual(parseAgentArgs(['--silence-timeout-ms', '5000', '--log-level=debug']), {
    silenceTimeoutMs: 5000,
    logLevel: 'debug',
    version: false,
  });
  assert.equal(parseAgentArgs(['--version']).version, true);
  assert.throws(() => parseAgentArgs(['--silence-timeout-ms', 'soon']), AgentUsageError);
  assert.throws(() => parseAgentArgs(['--silence-timeout-ms']), /needs an integer in 100\.\.3600000, got nothing/);
  assert.throws(
    () => parseAgentArgs(['--log-level', 'loud']),
    /--log-level needs one of error, warn, info, debug, trace/,
  );
  assert.throws(() => parseAgentArgs(['--secret', 'x']), /unknown agent argument --secret/);
});

test('parseAgentArgs: QUIC from uploaded files or embedded assets', () => {
  assert.equal(parseAgentArgs([]).quic, undefined);
  assert.deepEqual(parseAgentArgs(['--quic-bundle', '/c/q/b', '--quic-addon=/c/q/a']).quic, {
    bundle: '/c/q/b',
    addon: '/c/q/a',
  });
  assert.equal(parseAgentArgs(['--quic-embedded']).quic, 'embedded');
  assert.throws(() => parseAgentArgs(['--quic-bundle', '/c/q/b']), /--quic-bundle and --quic-addon go together/);
  assert.throws(() => parseAgentArgs(['--quic-addon', 'rel/a', '--quic-bundle', '/b']), /needs an absolute path/);
});
