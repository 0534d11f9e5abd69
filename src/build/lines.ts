/**
 * Split a byte stream into lines (for build output); a final line without "\n" is flushed at
 * the end. Very long lines are cut so one line cannot hold the whole log.
 */
export class LineSplitter {
  private rest = "";

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 8192,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.rest + chunk.toString();
    const parts = text.split(/\r?\n|\r/);
    this.rest = parts.pop() ?? "";
    for (const p of parts) this.onLine(this.clip(p));
    if (this.rest.length > this.maxLine) {
      this.onLine(this.clip(this.rest));
      this.rest = "";
    }
  }

  end(): void {
    if (this.rest !== "") this.onLine(this.clip(this.rest));
    this.rest = "";
  }

  private clip(line: string): string {
    return line.length > this.maxLine ? line.slice(0, this.maxLine) + "…" : line;
  }
}
