import { homedir } from 'node:os';
import { join } from 'node:path';

/** What a service manager starts: `<node> [<node flags>] <entry> daemon run`, with the state dir it should use. */
export interface ServiceCommand {
  node: string;
  args: string[];
  /** `$PORT_LINKER_HOME` when set (else the service uses the default state dir). */
  stateHome?: string;
}

/** systemd wants arguments with spaces or quotes in double quotes, with `\` and `"` escaped; `%` doubled. */
function systemdQuote(arg: string): string {
  const escaped = arg.replaceAll('%', '%%');
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
}

function xmlEscape(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** The systemd --user unit: started at login, restarted when it crashes. */
export function systemdUnit(cmd: ServiceCommand): string {
  const exec = [cmd.node, ...cmd.args].map(systemdQuote).join(' ');
  return `[Unit]
Description=port-linker daemon: remote ports on localhost over SSH
Documentation=https://github.com/port-linker/port-linker
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${exec}
${cmd.stateHome ? `Environment=${systemdQuote(`PORT_LINKER_HOME=${cmd.stateHome}`)}\n` : ''}Restart=on-failure
RestartSec=2
# stop: SIGTERM lets the daemon close its listeners; its hosts come back on the next start
KillSignal=SIGTERM
TimeoutStopSec=15

[Install]
WantedBy=default.target
`;
}

/** The launchd agent (macOS): started at login, restarted unless it exited cleanly. */
export function launchdPlist(cmd: ServiceCommand, logPath: string): string {
  const args = [cmd.node, ...cmd.args].map((a) => `    <string>${xmlEscape(a)}</string>`).join('\n');
  const env = cmd.stateHome
    ? `  <key>EnvironmentVariables</key>\n  <dict>\n    <key>PORT_LINKER_HOME</key>\n    <string>${xmlEscape(cmd.stateHome)}</string>\n  </dict>\n`
    : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${args}
  </array>
${env}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardOutPath</key>
  <string>${xmlEscape(logPath)}</string>
  <key>StandardErrorPath</key>
  <string>${xmlEscape(logPath)}</string>
</dict>
</plist>
`;
}

export const SYSTEMD_UNIT = 'port-linker.service';
export const LAUNCHD_LABEL = 'dev.port-linker.daemon';

/** Where the unit or agent file goes. */
export function serviceFilePath(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || homedir();
  if (platform === 'darwin') return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'systemd', 'user', SYSTEMD_UNIT);
}
