import { randomBytes } from 'node:crypto';
import type { AgentArtifact } from './agent-artifacts.ts';
import { DeployError } from './errors.ts';
import { type RemoteFacts, SHELL_PRELUDE } from './remote-probe.ts';
import type { RemoteSession } from './remote-session.ts';
import { shellQuote } from './shell-quote.ts';

/** Cached agent versions kept on the remote (the newest by use); older ones are deleted on install. */
export const KEEP_VERSIONS = 3;

/** How the bytes travelled. */
export type UploadVia = 'sftp' | 'exec';

/** Outcome of one install. */
export interface InstallResult {
  bytesUploaded: number;
  via: UploadVia;
  /** Absolute path of the verified file on the remote (named by its sha256). */
  remotePath: string;
}

/** QUIC files (bundle + addon) kept in `quic/`: the newest two pairs. */
export const KEEP_QUIC_FILES = 4;

/**
 * The install script, run after the upload landed at `tmp` (a random name inside the 0700 cache
 * dir, never shared /tmp): decompress, verify the sha256, chmod, ad-hoc codesign on macOS
 * (recording the signed hash in `<sha>.signed` so the next probe still verifies it), run the agent's
 * `--version` self-test (catches noexec, a missing glibc, a wrong arch), atomic rename (a directory or a link
 * holding the name is removed first: mv would move the file into it, and node runs a directory's index.js), prune.
 * QUIC files go to `quic/` (0600: the agent reads and dlopens them; no self-test: a file that does not
 * load only means no QUIC, which the agent reports). Prints `installed=<sha>` or `error=<reason>`.
 */
export function installScript(o: {
  tmp: string;
  sha256: string;
  gzip: boolean;
  kind: AgentArtifact['kind'];
  nodePath: string | undefined;
}): string {
  return `${SHELL_PRELUDE}
tmp=${shellQuote(o.tmp)}
sha=${shellQuote(o.sha256)}
node=${shellQuote(o.nodePath ?? '')}
fail() { rm -f "$tmp" "$tmp.x"; echo "error=$*"; exit 1; }
# the verified file takes the name, whatever holds it: mv would move it into a directory (or a link to one)
# left there instead, and node runs a directory's index.js
claim() { if [ -L "$1" ] || { [ -e "$1" ] && [ ! -f "$1" ]; }; then rm -rf "$1" || fail "cannot replace $1"; fi; }
[ -n "$hash_tool" ] || fail "no sha256 tool on the remote (sha256sum, shasum or openssl)"
[ -f "$tmp" ] || fail "uploaded file $tmp is missing"
${o.gzip ? `gzip -dc < "$tmp" > "$tmp.x" || fail "gzip -d failed (truncated upload or disk full)"\nrm -f "$tmp"` : 'mv -f "$tmp" "$tmp.x"'}
h=$(sha_of "$tmp.x") || fail "cannot hash $tmp.x"
[ "$h" = "$sha" ] || fail "sha256 mismatch after upload: got $h"
${
  o.kind === 'quic'
    ? `mkdir -p "$dir/quic" || fail "cannot create $dir/quic"
chmod 600 "$tmp.x"
claim "$dir/quic/$sha"
mv -f "$tmp.x" "$dir/quic/$sha" || fail "rename into $dir/quic failed"
ls -t "$dir/quic" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | tail -n +${KEEP_QUIC_FILES + 1} | while read -r old; do rm -f "$dir/quic/$old"; done
echo "installed=$sha"
exit 0`
    : ''
}
chmod 700 "$tmp.x"
rm -f "$dir/$sha.signed"
${
  o.kind === 'binary'
    ? `if [ "$(uname -s)" = Darwin ] && command -v codesign >/dev/null 2>&1; then
  codesign --sign - --force "$tmp.x" >/dev/null 2>&1 || fail "codesign --sign - failed"
  sha_of "$tmp.x" > "$dir/$sha.signed.new" && mv -f "$dir/$sha.signed.new" "$dir/$sha.signed"
fi
out=$(NODE_OPTIONS= "$tmp.x" --version 2>&1 </dev/null) || true`
    : `out=$(NODE_OPTIONS= "$node" "$tmp.x" --version 2>&1 </dev/null) || true`
}
case "$out" in *'"version"'*) ;; *) rm -f "$dir/$sha.signed"; fail "self-test failed: $(printf '%s' "$out" | head -c 300 | tr '\\n' ' ')" ;; esac
claim "$dir/$sha"
mv -f "$tmp.x" "$dir/$sha" || fail "rename into $dir failed"
ls -t "$dir" 2>/dev/null | grep -E '^[0-9a-f]{64}$' | tail -n +${KEEP_VERSIONS + 1} | while read -r old; do rm -f "$dir/$old" "$dir/$old.signed"; done
find "$dir" -name '.tmp-*' -mmin +60 -exec rm -f {} + 2>/dev/null
echo "installed=$sha"
`;
}

/**
 * Uploads `artifact` into the remote cache and installs it (two round trips). SFTP first; when the
 * server has no SFTP subsystem, the bytes go through an exec channel's stdin (`cat > tmp`).
 */
export async function installArtifact(
  session: RemoteSession,
  facts: RemoteFacts,
  artifact: AgentArtifact,
  log: (level: 'warn' | 'info' | 'debug', msg: string) => void,
): Promise<InstallResult> {
  const dir = facts.cacheDir;
  if (!dir) throw new DeployError('install', `no remote cache dir: ${facts.cacheError ?? 'unknown reason'}`);
  const platform = artifact.platform;
  let data: Uint8Array;
  let gzip = facts.gzip;
  if (gzip) data = await artifact.gzipped();
  else {
    const raw = await artifact.raw();
    if (!raw) throw new DeployError('install', 'the remote has no gzip to unpack the executable', { platform });
    data = raw;
    gzip = false;
  }
  const tmp = `${dir}/.tmp-${randomBytes(12).toString('hex')}`;
  let via: UploadVia = 'sftp';
  const what =
    artifact.kind !== 'quic'
      ? `the ${artifact.kind} agent`
      : artifact.platform
        ? `the QUIC addon for ${artifact.platform}`
        : 'the QUIC bundle';
  log('info', `uploading ${what} (${(data.byteLength / 1024).toFixed(0)} KiB) to ${dir}...`);
  try {
    await session.writeFile(tmp, data, 0o600);
  } catch (err) {
    log('debug', `SFTP upload failed (${(err as Error).message}); uploading over exec instead`);
    via = 'exec';
    const r = await session.exec(`cat > ${shellQuote(tmp)}`, { stdin: data, timeoutMs: 600_000 }).catch((cause) => {
      throw new DeployError('upload', `upload of ${data.byteLength} bytes failed: ${(cause as Error).message}`, {
        platform,
        cause,
      });
    });
    if (r.code !== 0) {
      await session.exec(`rm -f ${shellQuote(tmp)}`).catch(() => undefined);
      throw new DeployError('upload', `upload over exec exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`, {
        platform,
      });
    }
  }
  const script = installScript({ tmp, sha256: artifact.sha256, gzip, kind: artifact.kind, nodePath: facts.nodePath });
  const r = await session.exec('sh -s', { stdin: script, timeoutMs: 120_000 }).catch((cause) => {
    throw new DeployError('install', `install failed: ${(cause as Error).message}`, { platform, cause });
  });
  const out = r.stdout.toString('utf8');
  const error = /^error=(.*)$/m.exec(out)?.[1];
  if (error || !out.includes(`installed=${artifact.sha256}`)) {
    throw new DeployError('install', `installing the agent failed: ${error ?? (r.stderr.trim() || out.trim())}`, {
      platform,
    });
  }
  log('debug', `installed ${artifact.kind} ${artifact.sha256.slice(0, 12)} (${data.byteLength} bytes via ${via})`);
  const sub = artifact.kind === 'quic' ? 'quic/' : '';
  return { bytesUploaded: data.byteLength, via, remotePath: `${dir}/${sub}${artifact.sha256}` };
}
