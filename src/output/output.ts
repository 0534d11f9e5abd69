import pc from "picocolors";

/** Where CLI output goes; commands take it as a parameter so tests can capture it. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal (colour and progress only then). */
  tty: boolean;
}

export const processOutput: Output = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
  tty: process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined,
};

/** Colour helpers that do nothing off a terminal. */
export function colours(o: Output): {
  bold: (s: string) => string;
  dim: (s: string) => string;
  red: (s: string) => string;
  green: (s: string) => string;
} {
  const on = o.tty;
  return {
    bold: on ? pc.bold : (s) => s,
    dim: on ? pc.dim : (s) => s,
    red: on ? pc.red : (s) => s,
    green: on ? pc.green : (s) => s,
  };
}

/** Print rows as an aligned table with a header; an empty list prints the `empty` line. */
export function table(o: Output, headers: string[], rows: string[][], empty = "(none)"): void {
  if (rows.length === 0) {
    o.out(empty);
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  o.out(colours(o).bold(line(headers)));
  for (const r of rows) o.out(line(r));
}

/** Print a value as pretty JSON (for --json). */
export function json(o: Output, value: unknown): void {
  o.out(JSON.stringify(value, null, 2));
}
