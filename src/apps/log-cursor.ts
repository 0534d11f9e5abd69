/**
 * Where a follower is in a progress log that its writer rewrites whole, keeping only its last
 * lines (a deploy's or a scaling's `log`): each call answers the lines not handed out yet.
 */
export class LogCursor {
  private emitted = 0;
  private last: string | undefined;

  /** The lines of `log` after the last one handed out. */
  next(log: readonly string[]): string[] {
    let from = this.emitted;
    // The log was trimmed at its start: find where we were by the last line handed out.
    if (this.emitted > 0 && log[this.emitted - 1] !== this.last)
      from = log.lastIndexOf(this.last!) + 1;
    const fresh = log.slice(from);
    this.emitted = log.length;
    this.last = log.at(-1);
    return fresh;
  }
}
