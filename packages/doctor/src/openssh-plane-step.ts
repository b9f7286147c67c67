import { masterTarget, OpenSshMaster } from '@port-linker/openssh-plane';
import type { ResolvedHost } from '@port-linker/ssh';
import { pass, type StepOutcome, skip } from './step-result.ts';

/**
 * Whether `--data-path openssh` would work for this host: a ControlMaster started the way the data plane starts it
 * (key-only, known_hosts as resolved), timed, and stopped. Never a failure: without it SSH channels carry the
 * forwards.
 */
export async function opensshPlaneOutcome(host: ResolvedHost): Promise<StepOutcome> {
  const target = masterTarget(host);
  if (typeof target === 'string') return skip(`--data-path openssh: ${target}`);
  const t0 = performance.now();
  let master: OpenSshMaster;
  try {
    master = await OpenSshMaster.start(target);
  } catch (err) {
    return skip(`--data-path openssh would fall back to SSH channels: ${(err as Error).message}`);
  }
  const ms = Math.round(performance.now() - t0);
  await master.stop();
  return pass(`--data-path openssh works: an OpenSSH ControlMaster logged in in ${ms} ms`);
}
