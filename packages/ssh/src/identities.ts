/**
 * Reading identity files and asking an ssh-agent for its keys. A separate entry point because both load ssh2's
 * key parser (and with it its client): the main entry must not, so that `--help` and `--version` stay fast.
 */
export { type AgentIdentity, listAgentIdentities } from './agent-identities.ts';
export { type IdentityFile, readIdentityFile } from './key-files.ts';
