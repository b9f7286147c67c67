// Vendor patch S6 (ssh2@1.17.0 Channel#destroy): see docs/vendor-patches.md.
import type { ClientChannel } from 'ssh2';

/**
 * ssh2 1.x's exact Channel#destroy (whitespace removed). It calls end() even when the writable side has already
 * finished, which is the normal case when Node's autoDestroy calls it after both directions ended: Node then builds
 * an ERR_STREAM_ALREADY_FINISHED error (stack trace and message formatting) only to drop it. That was ~3 % of the
 * host's CPU per forwarded connection.
 */
export const SSH2_DESTROY = 'destroy(){this.end();this.close();returnthis;}';

interface ChannelInternals {
  readonly writableFinished: boolean;
  end(): void;
  close(): void;
  destroy(): unknown;
}

const patched = new WeakSet<object>();

/**
 * Makes the Channel class of `channel` skip that end() once its writable side has finished (end() would do nothing
 * else then): same effect, no thrown-away error. Patches the class once; returns whether it now behaves so (false:
 * ssh2 code this does not recognise, left alone).
 */
export function quietChannelDestroy(channel: ClientChannel): boolean {
  const proto = Object.getPrototypeOf(channel) as ChannelInternals | null;
  if (!proto || typeof proto.destroy !== 'function') return false;
  if (patched.has(proto)) return true;
  if (proto.destroy.toString().replace(/\s+/g, '') !== SSH2_DESTROY) return false;
  proto.destroy = function destroy(this: ChannelInternals) {
    if (!this.writableFinished) this.end();
    this.close();
    return this;
  };
  patched.add(proto);
  return true;
}
