/** An inclusive range of ports 1-65535. */
export interface PortRange {
  low: number;
  high: number;
}

/** `3000` or `8000-8999` as a range, or undefined when it is not one (ports 1-65535, low <= high). */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  return low >= 1 && high <= 65535 && low <= high ? { low, high } : undefined;
}

/** `3000` or `8000-8999`. */
export const formatPortRange = (r: PortRange): string => (r.low === r.high ? `${r.low}` : `${r.low}-${r.high}`);

/** A port list item that is not a port or range: the item, and where it is (list index or string offset). */
export interface BadPortItem {
  item: string;
  listIndex?: number;
  offset?: number;
}

/**
 * `ports:`/`exclude:` as written (a string like "3000,5173,8000-8999", a number, or a list of either) in the
 * command line's form (`3000,5173,8000-8999`), or the first item that is not a port or range.
 */
export function normalisePortList(value: string | number | readonly (string | number)[]): string | BadPortItem {
  const items: string[] = [];
  if (Array.isArray(value)) {
    for (const [listIndex, raw] of value.entries()) {
      const item = String(raw).trim();
      const range = parsePortRange(item);
      if (!range) return { item, listIndex };
      items.push(formatPortRange(range));
    }
    return items.join(',');
  }
  let offset = 0;
  for (const raw of String(value).split(',')) {
    const item = raw.trim();
    const start = offset + raw.indexOf(item);
    offset += raw.length + 1;
    if (item === '' && typeof value === 'string') continue;
    const range = parsePortRange(item);
    if (!range) return { item, offset: start };
    items.push(formatPortRange(range));
  }
  return items.join(',');
}
