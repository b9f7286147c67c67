/** Names people reach for that are spelled differently here (CLI flag names, ssh_config words). */
const ALIASES: Readonly<Record<string, string>> = {
  identities: 'identity',
  identityfile: 'identity',
  sshoptions: 'options',
  o: 'options',
  localforwards: 'forwards',
  localforward: 'forwards',
  l: 'forwards',
  p: 'ports',
  x: 'exclude',
  excludes: 'exclude',
  j: 'jump',
  proxyjump: 'jump',
  i: 'identity',
  f: 'ssh_config',
  sshconfig: 'ssh_config',
  hostname: 'host',
  noauto: 'auto',
  loglevel: 'log_level',
  bindaddress: 'bind_address',
  defaultexcludes: 'default_excludes',
  portsattributes: 'attributes',
  onautoforward: 'on_forward',
};

const fold = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');

/** Edit distance with adjacent transpositions counting 1 (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known name `word` was most likely meant to be, or undefined when none is close. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const folded = fold(word);
  const byFold = known.find((k) => fold(k) === folded);
  if (byFold !== undefined) return byFold;
  const alias = ALIASES[folded];
  if (alias !== undefined && known.includes(alias)) return alias;
  const limit = folded.length <= 3 ? 1 : folded.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const k of known) {
    const distance = editDistance(folded, fold(k));
    if (distance < bestDistance) {
      best = k;
      bestDistance = distance;
    }
  }
  return best;
}
