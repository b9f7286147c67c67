/** Quotes one word for a POSIX shell: `it's` -> `'it'\''s'`. Safe for any bytes but NUL. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
