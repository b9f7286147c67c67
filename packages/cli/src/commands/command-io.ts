/** What a daemon command needs from the process. */
export interface CommandIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  stderrIsTty: boolean;
  signal: AbortSignal;
}
