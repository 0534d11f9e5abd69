/**
 * A unified diff (`diff -u` / git style) of two texts, line by line: Myers' O(ND) algorithm on
 * what lies between the common prefix and suffix, with 3 lines of context. Pure; no I/O.
 */

export interface DiffOptions {
  /** The `---` label; "/dev/null" for a file that does not exist yet. */
  from: string;
  /** The `+++` label. */
  to: string;
  /** Lines of context around each change (default 3). */
  context?: number;
  /** Output lines after which the diff is cut with a note (default 500). */
  maxLines?: number;
}

type Op = { kind: " " | "-" | "+"; text: string; a: number; b: number };

// Beyond this many edits the middle is shown as all-removed then all-added: the trace of
// Myers' search grows with D², and a diff that large is not read line by line anyway.
const MAX_EDITS = 1500;

/** Splits keeping each line's terminator, so a missing final newline is a difference. */
function lines(s: string): string[] {
  if (s === "") return [];
  const out = s.split("\n").map((l) => `${l}\n`);
  const last = out.length - 1;
  out[last] = (out[last] as string).slice(0, -1);
  if (out[last] === "") out.pop();
  return out;
}

/** The edit script turning `a` into `b` (Myers, with backtracking over the saved frontiers). */
function myers(a: string[], b: string[]): ("=" | "-" | "+")[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    if (d > MAX_EDITS) return undefined;
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m);
    }
  }
  return undefined;
}

function backtrack(trace: Int32Array[], n: number, m: number): ("=" | "-" | "+")[] {
  const script: ("=" | "-" | "+")[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d] as Int32Array; // frontier before step d, indexed k + d + 1
    const at = (k: number): number => vd[k + d + 1] as number;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      script.push("=");
      x--;
      y--;
    }
    if (d > 0) script.push(x === prevX ? "+" : "-");
    x = prevX;
    y = prevY;
  }
  return script.reverse();
}

function editScript(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  )
    suf++;
  const midA = a.slice(pre, a.length - suf);
  const midB = b.slice(pre, b.length - suf);
  const script = myers(midA, midB) ?? [
    ...midA.map(() => "-" as const),
    ...midB.map(() => "+" as const),
  ];
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  const push = (kind: Op["kind"]): void => {
    const text = (kind === "+" ? b[j] : a[i]) as string;
    ops.push({ kind, text, a: i, b: j });
    if (kind !== "+") i++;
    if (kind !== "-") j++;
  };
  for (let p = 0; p < pre; p++) push(" ");
  for (const s of script) push(s === "=" ? " " : s);
  for (let p = 0; p < suf; p++) push(" ");
  return ops;
}

function range(start: number, count: number): string {
  // GNU diff: an empty range names the line before it; a single line has no count.
  if (count === 0) return `${start},0`;
  return count === 1 ? `${start + 1}` : `${start + 1},${count}`;
}

function render(op: Op): string {
  if (op.text.endsWith("\n")) return `${op.kind}${op.text}`;
  return `${op.kind}${op.text}\n\\ No newline at end of file\n`;
}

/** A unified diff from `before` to `after`; "" when they are equal. */
export function unifiedDiff(before: string, after: string, opts: DiffOptions): string {
  if (before === after) return "";
  const context = opts.context ?? 3;
  const maxLines = opts.maxLines ?? 500;
  const ops = editScript(lines(before), lines(after));
  const out: string[] = [`--- ${opts.from}\n`, `+++ ${opts.to}\n`];
  let p = 0;
  while (p < ops.length) {
    while (p < ops.length && (ops[p] as Op).kind === " ") p++;
    if (p >= ops.length) break;
    const start = Math.max(0, p - context);
    // Extend over changes whose gap of unchanged lines is at most 2×context.
    let end = p;
    let q = p;
    while (q < ops.length) {
      if ((ops[q] as Op).kind !== " ") {
        end = q + 1;
        q++;
        continue;
      }
      let r = q;
      while (r < ops.length && (ops[r] as Op).kind === " ") r++;
      if (r >= ops.length || r - q > 2 * context) break;
      q = r;
    }
    const stop = Math.min(ops.length, end + context);
    const hunk = ops.slice(start, stop);
    const first = hunk[0] as Op;
    const aCount = hunk.filter((o) => o.kind !== "+").length;
    const bCount = hunk.filter((o) => o.kind !== "-").length;
    out.push(`@@ -${range(first.a, aCount)} +${range(first.b, bCount)} @@\n`);
    for (const op of hunk) out.push(render(op));
    p = stop;
  }
  const text = out.join("");
  const all = text.split("\n");
  if (all.length - 1 <= maxLines) return text;
  const cut = all.length - 1 - maxLines;
  return `${all.slice(0, maxLines).join("\n")}\n... diff truncated: ${cut} more lines\n`;
}

/** True when the bytes hold a NUL: not text, so not worth a line diff. */
export function isBinary(bytes: Uint8Array): boolean {
  return bytes.subarray(0, 8192).includes(0);
}
