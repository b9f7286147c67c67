/**
 * OpenSSH pattern matching (ssh_config(5) PATTERNS): `*` matches any run of characters, `?` exactly one.
 * Case-sensitive like match_pattern(); `ignoreCase` gives match_hostname() (known_hosts, Match host).
 */
export function matchPattern(text: string, pattern: string, ignoreCase = false): boolean {
  const s = ignoreCase ? text.toLowerCase() : text;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  // Iterative glob with single-star backtracking: linear in practice, no regex built from user text.
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star !== -1) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * Matches `text` against a list of patterns where `!pattern` negates (OpenSSH match_pattern_list):
 * returns -1 when a negated pattern matches (the whole entry is ignored), 1 on a positive match, 0 otherwise.
 */
export function matchPatternList(text: string, patterns: readonly string[], ignoreCase = false): -1 | 0 | 1 {
  let result: 0 | 1 = 0;
  for (const raw of patterns) {
    if (raw === '') continue;
    if (raw.startsWith('!')) {
      if (matchPattern(text, raw.slice(1), ignoreCase)) return -1;
    } else if (matchPattern(text, raw, ignoreCase)) {
      result = 1;
    }
  }
  return result;
}

/** True when a comma-separated pattern list (`a,*.b,!c`) matches `text` positively. */
export function matchCommaList(text: string, list: string, ignoreCase = false): boolean {
  return matchPatternList(text, list.split(','), ignoreCase) === 1;
}
