/** What happens when a port is forwarded: notify (default), open-browser, silent, or ignore (do not forward it). */
export const ON_FORWARD = ['notify', 'open-browser', 'silent', 'ignore'] as const;
export type OnForward = (typeof ON_FORWARD)[number];

/** What a profile says about one remote port. */
export interface PortAttribute {
  label?: string;
  /** notify (default), open-browser, silent, or ignore (do not forward it). */
  onForward: OnForward;
  /** Forward only on the same local port: never remap it. */
  requireLocalPort: boolean;
}

/** One `attributes:` entry: a port (low = high) or a range, and the fields it sets. */
export interface PortAttributeRule {
  low: number;
  high: number;
  label?: string;
  onForward?: OnForward;
  requireLocalPort?: boolean;
}

const width = (r: PortAttributeRule) => r.high - r.low;

/**
 * Per-port attributes, like VS Code's portsAttributes. For each field, the most specific entry that sets it
 * wins: a single port before any range, then the narrower range; equally narrow ranges go by file order.
 */
export class PortAttributes {
  readonly #rules: readonly PortAttributeRule[];
  /** Most specific first. */
  readonly #bySpecificity: readonly PortAttributeRule[];

  /** Throws RangeError for a rule outside 1-65535 or with low > high. */
  constructor(rules: readonly PortAttributeRule[]) {
    for (const r of rules) {
      if (!Number.isInteger(r.low) || !Number.isInteger(r.high) || r.low < 1 || r.high > 65535 || r.low > r.high) {
        throw new RangeError(`port attributes: ${r.low}-${r.high} is not a port range within 1-65535`);
      }
    }
    this.#rules = rules.map((r) => ({ ...r }));
    this.#bySpecificity = [...this.#rules].sort((a, b) => width(a) - width(b));
  }

  /** No attributes: every port gets the defaults. */
  static empty(): PortAttributes {
    return new PortAttributes([]);
  }

  /** The entries, in file order. */
  get rules(): readonly PortAttributeRule[] {
    return this.#rules;
  }

  get size(): number {
    return this.#rules.length;
  }

  /** The attributes of `remotePort` (defaults: notify, requireLocalPort false, no label). */
  for(remotePort: number): PortAttribute {
    let label: string | undefined;
    let onForward: OnForward | undefined;
    let requireLocalPort: boolean | undefined;
    for (const r of this.#bySpecificity) {
      if (remotePort < r.low || remotePort > r.high) continue;
      label ??= r.label;
      onForward ??= r.onForward;
      requireLocalPort ??= r.requireLocalPort;
    }
    return {
      ...(label === undefined ? {} : { label }),
      onForward: onForward ?? 'notify',
      requireLocalPort: requireLocalPort ?? false,
    };
  }
}
