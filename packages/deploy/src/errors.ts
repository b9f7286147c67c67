import { ErrorCode, PortLinkerError } from '@port-linker/proto';

/** Where in deploy something failed. */
export const DeployStage = {
  Probe: 'probe',
  Upload: 'upload',
  Install: 'install',
  Start: 'start',
  Artifacts: 'artifacts',
} as const;

/** One of the deploy stages. */
export type DeployStage = (typeof DeployStage)[keyof typeof DeployStage];

/** Deploying or starting the agent failed at `stage` (the CLI may fall back to agentless scanning). */
export class DeployError extends PortLinkerError {
  readonly stage: DeployStage;
  readonly platform: string | undefined;
  constructor(stage: DeployStage, message: string, options: { platform?: string; cause?: unknown } = {}) {
    super(ErrorCode.Deploy, message, { cause: options.cause });
    this.stage = stage;
    this.platform = options.platform;
  }
}
