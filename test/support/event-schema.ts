import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';

const SCHEMA = join(import.meta.dirname, '../../packages/engine/schema/events-v1.schema.json');
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(SCHEMA, 'utf8')));

/** Why `event` does not match the events-v1 JSON Schema, or undefined when it does. */
export function eventSchemaError(event: unknown): string | undefined {
  if (validate(event)) return undefined;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
}
