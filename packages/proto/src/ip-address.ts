import { EncodeError } from './errors.ts';

/** Formats 4 bytes (network order) as dotted IPv4. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * Formats 16 bytes (network order) as RFC 5952 text: lowercase, the longest run (>= 2) of zero
 * groups compressed to `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
export function formatIPv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses dotted IPv4 into 4 bytes, or undefined if it is not one. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** Parses IPv6 text (with `::` and an optional trailing dotted IPv4) into 16 bytes, or undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  const addr = zone >= 0 ? text.slice(0, zone) : text;
  const halves = addr.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? '';
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIPv4(item);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return undefined;
        out.push(Number.parseInt(item, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

/** Address family of textual IP: 4, 6, or 0 when it is neither. */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (parseIPv4(text)) return 4;
  if (parseIPv6(text)) return 6;
  return 0;
}

/** Bytes of a textual IPv4 or IPv6 address; throws EncodeError for anything else. */
export function ipBytes(text: string): Uint8Array {
  const bytes = parseIPv4(text) ?? parseIPv6(text);
  if (!bytes) throw new EncodeError(`not an IP address: ${JSON.stringify(text)}`);
  return bytes;
}

/** Canonical text of an IP (so `0:0::1` and `::1` compare equal). Unparseable text is returned as is. */
export function canonicalIp(text: string): string {
  const v4 = parseIPv4(text);
  if (v4) return formatIPv4(v4);
  const v6 = parseIPv6(text);
  if (!v6) return text;
  const mapped = formatIPv6(v6);
  return mapped.startsWith('::ffff:') && mapped.includes('.') ? mapped.slice(7) : mapped;
}

/**
 * Whether a listener on this address can be reached from the remote's loopback, i.e. forwarded:
 * wildcards (0.0.0.0, ::) and loopback (127.0.0.0/8, ::1). Specific non-loopback addresses are not.
 */
export function isForwardableAddress(text: string): boolean {
  const ip = canonicalIp(text);
  if (ip === '0.0.0.0' || ip === '::' || ip === '::1') return true;
  return ip.startsWith('127.') && parseIPv4(ip) !== undefined;
}
