import { Ajv, type ValidateFunction } from 'ajv';
import schema from '../schema/profiles-v1.schema.json' with { type: 'json' };
import { describeSchemaError, type SchemaIssue } from './schema-messages.ts';

/** The JSON Schema of profiles files, version 1 (also shipped for editors). */
export const PROFILES_SCHEMA: Readonly<Record<string, unknown>> = schema;

let compiled: ValidateFunction | undefined;

/** The compiled validator (draft-07, ajv's default export), built on first use. */
export function profilesValidator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);
  return compiled;
}

/** Every schema problem of `data`, described; empty when it is valid. */
export function schemaIssues(data: unknown): SchemaIssue[] {
  const validate = profilesValidator();
  if (validate(data)) return [];
  const issues: SchemaIssue[] = [];
  for (const e of validate.errors ?? []) {
    const issue = describeSchemaError(e, data);
    if (issue) issues.push(issue);
  }
  // A missing key that an unknown key next to it was probably meant to be: report the typo only.
  const typo = (i: SchemaIssue) => `${JSON.stringify(i.path.slice(0, -1))} ${i.suggests}`;
  const typos = new Set(issues.filter((i) => i.suggests !== undefined).map(typo));
  return issues.filter((i) => i.missing === undefined || !typos.has(`${JSON.stringify(i.path)} ${i.missing}`));
}
