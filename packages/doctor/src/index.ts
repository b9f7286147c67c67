export { type DoctorOptions, type LocalChecks, resolveForConfig, runDoctor } from './doctor.ts';
export { humanRow, humanSummary, jsonLine, NAME_WIDTH, progressLine } from './format-report.ts';
export {
  type DaemonForward,
  type DaemonView,
  excludingRule,
  explainPort,
  type LocalOwner,
  type PortEvidence,
  type PortFilterOptions,
} from './port-explain.ts';
export { resolveTraced, type TracedHost } from './ssh-config-step.ts';
export { CONFIG_KEYWORDS, configNotes, forwardText, sshGLines } from './ssh-g-format.ts';
export { fail, pass, type StepOutcome, type StepResult, type StepStatus, skip } from './step-result.ts';
export { errorText, type StepReporter, StepRunner } from './step-runner.ts';
export { UNSUPPORTED, unsupportedMessages } from './unsupported-options.ts';
