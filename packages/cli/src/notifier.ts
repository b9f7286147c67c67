import { spawn } from 'node:child_process';
/** Whether a desktop exists to show notifications on (never on a headless server). */
export function hasDisplay(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): boolean {
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Sends one notification (title, message); failures are logged at debug by the caller. */
export type Notify = (title: string, message: string) => Promise<void>;

/** node-notifier, loaded only when a notification is really sent (headless runs never load it). */
export const desktopNotify: Notify = async (title, message) => {
  const mod = (await import('node-notifier')) as unknown as {
    default: { notify(o: { title: string; message: string }, cb: (err: Error | null) => void): void };
  };
  await new Promise<void>((resolve, reject) =>
    mod.default.notify({ title, message }, (err) => (err ? reject(err) : resolve())),
  );
};

/**
 * Collects new forwards for `windowMs` and sends one notification per burst ("3 ports from devbox:
 * 3000, 5173, 8080"), not one per port.
 */
export class BurstNotifier {
  readonly #notify: Notify;
  readonly #host: string;
  readonly #windowMs: number;
  readonly #onError: (err: Error) => void;
  #pending: string[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** `notify` is desktopNotify in production. */
  constructor(host: string, notify: Notify, onError: (err: Error) => void, windowMs = 1500) {
    this.#host = host;
    this.#notify = notify;
    this.#onError = onError;
    this.#windowMs = windowMs;
  }

  /** Records a new forward (`localhost:3000 (node)`). */
  add(label: string): void {
    this.#pending.push(label);
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), this.#windowMs);
      this.#timer.unref();
    }
  }

  /** Sends what is pending now. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const items = this.#pending.splice(0);
    if (items.length === 0) return;
    const title = `port-linker: ${items.length} port${items.length > 1 ? 's' : ''} from ${this.#host}`;
    const shown = items.slice(0, 6).join(', ') + (items.length > 6 ? `, +${items.length - 6} more` : '');
    this.#notify(title, shown).catch((err: Error) => this.#onError(err));
  }
}

/** Opens a URL in the desktop's browser (attribute `on_forward: open-browser`); failures go to `onError`. */
export function openBrowser(
  url: string,
  onError: (err: Error) => void,
  platform: NodeJS.Platform = process.platform,
  run: typeof spawn = spawn,
): void {
  const [cmd, ...args] =
    platform === 'darwin' ? ['open', url] : platform === 'win32' ? ['cmd', '/c', 'start', '', url] : ['xdg-open', url];
  const child = run(cmd as string, args, { stdio: 'ignore', detached: true });
  child.on('error', onError);
  child.unref();
}
