/** A bad profiles file: one line, `<file>:<line>:<col>: <what is wrong>; <what to do>`. */
export class ProfileError extends Error {
  readonly code = 'EPROFILE';
  readonly file: string;
  /** 1-based; undefined when the problem is the file itself (missing, unreadable). */
  readonly line: number | undefined;
  readonly col: number | undefined;
  /** The message without the location. */
  readonly reason: string;

  constructor(file: string, pos: { line: number; col: number } | undefined, reason: string) {
    const oneLine = reason.replace(/\s*\n\s*/g, ' ');
    super(pos === undefined ? `${file}: ${oneLine}` : `${file}:${pos.line}:${pos.col}: ${oneLine}`);
    this.name = 'ProfileError';
    this.file = file;
    this.line = pos?.line;
    this.col = pos?.col;
    this.reason = oneLine;
  }
}
