import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import {
  AGENT_MODES,
  CONFLICT_POLICIES,
  FORWARD_TYPES,
  LOG_LEVELS,
  ON_FORWARD,
  PROFILE_DEFAULTS,
  PROTOCOLS,
  TRANSPORTS,
} from './profile.ts';
import { PROFILES_SCHEMA } from './schema-validator.ts';
import { PRODUCT_EXAMPLE } from './test-example.ts';

const SCHEMA_FILE = join(import.meta.dirname, '../schema/profiles-v1.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
// A fresh validator from the shipped file, as an editor or another tool would build it.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const errors = () => (validate.errors ?? []).map((e) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`);

test('the shipped schema is a valid draft-07 schema and the one the loader uses', () => {
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.equal(ajv.validateSchema(schema), true);
  assert.deepEqual(PROFILES_SCHEMA, schema);
  const exported = fileURLToPath(import.meta.resolve('@port-linker/profiles/schema/profiles-v1.schema.json'));
  assert.deepEqual(JSON.parse(readFileSync(exported, 'utf8')), schema);
});

test('the schema accepts the docs/PRODUCT.md section 9 example', () => {
  assert.equal(validate(parse(PRODUCT_EXAMPLE)), true, errors().join('; '));
});

test('the schema rejects a typo, a bad value and a wrong version', () => {
  assert.equal(validate(parse(PRODUCT_EXAMPLE.replace('ports:', 'prots:'))), false);
  assert.deepEqual(errors(), ['/profiles/devbox additionalProperties {"additionalProperty":"prots"}']);
  assert.equal(validate(parse(PRODUCT_EXAMPLE.replace('on_forward: open-browser', 'on_forward: open'))), false);
  assert.deepEqual(errors(), [
    `/profiles/devbox/attributes/3000/on_forward enum {"allowedValues":${JSON.stringify(ON_FORWARD)}}`,
  ]);
  assert.equal(validate({ version: 2, profiles: { a: { host: 'h' } } }), false);
  assert.equal(validate({ profiles: { a: { host: 'h' } } }), false);
  assert.equal(validate({ version: 1, profiles: { a: { jump: 'j' } } }), false);
  assert.equal(validate({ version: 1, profiles: { a: { host: 'h', forwards: [{ local: 1 }] } } }), false);
  assert.equal(validate({ version: 1, profiles: { a: { host: 'h', attributes: { web: {} } } } }), false);
});

test('the schema takes every forward type, each with its own fields', () => {
  const forwards = [
    '8080:localhost:80',
    { local: 5433, remote_port: 5432 },
    { type: 'remote', remote: '0.0.0.0:9000', local_host: 'localhost', local_port: 3000 },
    { type: 'dynamic', local: 1080 },
  ];
  assert.equal(validate({ version: 1, profiles: { a: { host: 'h', forwards } } }), true, errors().join('; '));
  const mixed = { type: 'dynamic', local: 1080, remote_port: 1 };
  assert.equal(validate({ version: 1, profiles: { a: { host: 'h', forwards: [mixed] } } }), false);
});

test("the schema's value sets and defaults are the command line's", () => {
  const p = schema.definitions.profile.properties;
  const sets: [string, readonly string[]][] = [
    ['protocol', PROTOCOLS],
    ['transport', TRANSPORTS],
    ['conflict', CONFLICT_POLICIES],
    ['agent', AGENT_MODES],
    ['log_level', LOG_LEVELS],
  ];
  for (const [key, values] of sets) assert.deepEqual(p[key].enum, values, key);
  assert.deepEqual(schema.definitions.forward.properties.type.enum, FORWARD_TYPES);
  assert.deepEqual(schema.definitions.portAttributes.properties.on_forward.enum, ON_FORWARD);
  assert.deepEqual(
    {
      auto: p.auto.default,
      protocol: p.protocol.default,
      transport: p.transport.default,
      conflict: p.conflict.default,
      agent: p.agent.default,
      defaultExcludes: p.default_excludes.default,
      logLevel: p.log_level.default,
    },
    PROFILE_DEFAULTS,
  );
});
