import type { HostOptions } from '@port-linker/engine';
import { ON_FORWARD, type OnForward, PortAttributes } from '@port-linker/forward';
import { Ajv2020 } from 'ajv/dist/2020.js';

/**
 * One host the daemon runs, as `POST /v1/hosts` takes it and the database keeps it (snake_case, like the events).
 * `id` names it in the daemon (a profile's name, or the target of `connect`); the rest mirrors the CLI's flags.
 */
export interface HostSpec {
  id: string;
  target: string;
  /** The profile it came from, and that profile's file. */
  profile?: string;
  profile_file?: string;
  identities: string[];
  jump?: string;
  ssh_config?: string;
  /** `Key=value`, like `-o`. */
  ssh_options: string[];
  auto: boolean;
  protocol: HostOptions['protocol'];
  transport: HostOptions['transport'];
  /** How forwarded TCP travels (auto, direct, ssh). */
  data_path?: 'auto' | 'direct' | 'ssh' | 'openssh';
  agent: HostOptions['agent'];
  conflict: HostOptions['conflict'];
  bind_address?: string;
  local_forwards: string[];
  /** `-R` forwards, as the command line writes them. */
  remote_forwards?: string[];
  /** `-D` forwards. */
  dynamic_forwards?: string[];
  /** Names of local forwards by their text (lookup finds them; shown as their label). */
  forward_names?: Record<string, string>;
  ports?: string;
  exclude?: string;
  default_excludes: boolean;
  log_level: HostOptions['logLevel'];
  /** A 0600 file holding the password (the path is kept, never the password). */
  password_file?: string;
  /** Per remote port or range (a profile's `attributes`). */
  attributes?: Array<{
    low: number;
    high: number;
    label?: string;
    on_forward?: OnForward;
    require_local_port?: boolean;
  }>;
}

const str = { type: 'string', minLength: 1, maxLength: 4096 } as const;
const strings = { type: 'array', items: str, maxItems: 256 } as const;
const oneOf = (values: readonly string[], dflt: string) => ({ enum: values, default: dflt });

/** The JSON Schema of a HostSpec (defaults filled in by the validator). */
export const HOST_SPEC_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  required: ['target'],
  properties: {
    id: { ...str, maxLength: 256, pattern: '^[^/\\s]+$' },
    target: { ...str, maxLength: 1024, pattern: '^[^-\\s][^\\s]*$' },
    profile: str,
    profile_file: str,
    identities: { ...strings, default: [] },
    jump: str,
    ssh_config: str,
    ssh_options: { ...strings, items: { ...str, pattern: '^[A-Za-z][A-Za-z0-9]*(=|\\s+)\\S' }, default: [] },
    auto: { type: 'boolean', default: true },
    protocol: oneOf(['tcp', 'udp', 'both'], 'both'),
    transport: oneOf(['auto', 'stdio', 'tcp', 'quic'], 'auto'),
    data_path: oneOf(['auto', 'direct', 'ssh', 'openssh'], 'auto'),
    agent: oneOf(['auto', 'node', 'binary', 'none'], 'auto'),
    conflict: oneOf(['remap', 'skip', 'kill'], 'remap'),
    bind_address: str,
    local_forwards: { ...strings, default: [] },
    remote_forwards: strings,
    dynamic_forwards: strings,
    forward_names: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 200 } },
    ports: str,
    exclude: str,
    default_excludes: { type: 'boolean', default: true },
    log_level: oneOf(['error', 'warn', 'info', 'debug', 'trace'], 'info'),
    password_file: str,
    attributes: {
      type: 'array',
      maxItems: 1024,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['low', 'high'],
        properties: {
          low: { type: 'integer', minimum: 1, maximum: 65535 },
          high: { type: 'integer', minimum: 1, maximum: 65535 },
          label: { ...str, maxLength: 256 },
          on_forward: { enum: ON_FORWARD },
          require_local_port: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const validate = new Ajv2020({ useDefaults: true, allErrors: false, strict: true }).compile(HOST_SPEC_SCHEMA);

/** Validates a request body into a HostSpec (defaults filled in, `id` defaults to the target); throws one line. */
export function parseHostSpec(body: unknown): HostSpec {
  const copy = typeof body === 'object' && body !== null ? structuredClone(body) : body;
  if (!validate(copy)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : 'the host';
    const detail =
      e?.keyword === 'additionalProperties'
        ? `unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`
        : e?.keyword === 'enum'
          ? `must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`
          : (e?.message ?? 'is not valid');
    throw new Error(`${where}: ${detail}`);
  }
  // auto: false with no forward is a pooled connection only (for exec and cp)
  const spec = copy as HostSpec;
  if (spec.bind_address !== undefined && spec.bind_address !== 'auto' && !/^(127\.|::1$)/.test(spec.bind_address))
    throw new Error(
      `bind_address ${spec.bind_address}: port-linker listens on loopback only (use 127.0.0.x, ::1 or auto)`,
    );
  const upside = spec.attributes?.find((a) => a.low > a.high);
  if (upside) throw new Error(`attributes: ${upside.low}-${upside.high} is upside down (write low-high)`);
  return { ...spec, id: spec.id ?? spec.target };
}

/** The engine's options of a host. */
export function hostOptionsOf(spec: HostSpec): HostOptions {
  return {
    auto: spec.auto,
    protocol: spec.protocol,
    transport: spec.transport,
    ...(spec.data_path ? { dataPath: spec.data_path } : {}),
    agent: spec.agent,
    conflict: spec.conflict,
    ...(spec.bind_address === undefined ? {} : { bindAddress: spec.bind_address }),
    localForwards: spec.local_forwards,
    ...(spec.remote_forwards?.length ? { remoteForwards: spec.remote_forwards } : {}),
    ...(spec.dynamic_forwards?.length ? { dynamicForwards: spec.dynamic_forwards } : {}),
    ...(spec.forward_names ? { forwardNames: spec.forward_names } : {}),
    ...(spec.ports === undefined ? {} : { ports: spec.ports }),
    ...(spec.exclude === undefined ? {} : { exclude: spec.exclude }),
    defaultExcludes: spec.default_excludes,
    logLevel: spec.log_level,
    ...(spec.password_file ? { passwordFile: spec.password_file } : {}),
    ...(spec.attributes?.length
      ? {
          attributes: new PortAttributes(
            spec.attributes.map((a) => ({
              low: a.low,
              high: a.high,
              ...(a.label === undefined ? {} : { label: a.label }),
              ...(a.on_forward === undefined ? {} : { onForward: a.on_forward }),
              ...(a.require_local_port === undefined ? {} : { requireLocalPort: a.require_local_port }),
            })),
          ),
        }
      : {}),
  };
}

/** Two specs ask for the same thing (an `up` that changes nothing leaves the host alone). */
export function sameSpec(a: HostSpec, b: HostSpec): boolean {
  const norm = (s: HostSpec) =>
    JSON.stringify(Object.fromEntries(Object.entries(s).sort(([x], [y]) => x.localeCompare(y))));
  return norm(a) === norm(b);
}
