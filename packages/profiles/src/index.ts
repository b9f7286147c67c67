export { type PortAttribute, type PortAttributeRule, PortAttributes } from '@port-linker/forward';
export { type FindProfileFileOptions, findProfileFile, PROJECT_FILE } from './find-profile-file.ts';
export { type ProfileHostOptions, sshOptionArgs, toHostOptions } from './host-options.ts';
export { loadProfiles } from './load-profiles.ts';
export { type ParseOptions, parseProfiles } from './parse-profiles.ts';
export type { PortRange } from './port-list.ts';
export {
  AGENT_MODES,
  type AgentMode,
  CONFLICT_POLICIES,
  type ConflictPolicy,
  FORWARD_TYPES,
  type ForwardType,
  LOG_LEVELS,
  type LogLevel,
  ON_FORWARD,
  type OnForward,
  PROFILE_DEFAULTS,
  PROTOCOLS,
  type Profile,
  type ProfileForward,
  type ProfilesFile,
  type Protocol,
  type SourcePosition,
  TRANSPORTS,
  type Transport,
} from './profile.ts';
export { ProfileError } from './profile-error.ts';
export { refuseUntrustedCommands } from './project-trust.ts';
export { PROFILES_SCHEMA, profilesValidator } from './schema-validator.ts';
