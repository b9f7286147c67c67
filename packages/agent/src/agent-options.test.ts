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
