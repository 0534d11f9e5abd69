/**
 * ANSI colours of log lines, for the logs page: SGR foreground colours (30–37, bright 90–97),
 * bold (1), normal intensity (22), default colour (39) and reset (0) become CSS classes
 * (`ansi-red`, `ansi-bright-green`, `ansi-bold`); every other escape sequence (cursor moves,
 * backgrounds, OSC titles, a sequence cut in half) is dropped. Pure: no DOM.
 */

/** A run of text and the CSS classes it is drawn with ("" when plain). */
export interface Span {
  text: string;
  cls: string;
}

const NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"] as const;

// CSI (ESC [ params intermediates final), OSC (ESC ] … BEL or ESC \), ESC + intermediates +
// final (charsets), any other ESC + one byte,
// and an escape cut off at the end of the line.
const ESCAPE =
  // eslint-disable-next-line no-control-regex
  /\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]+[0-~]|\x1b[^[\] -/]|\x1b.*$/g;

/** The CSS class of an SGR foreground code, or undefined when it is not one. */
export function colourClass(code: number): string | undefined {
  if (code >= 30 && code <= 37) return `ansi-${NAMES[code - 30]}`;
  if (code >= 90 && code <= 97) return `ansi-bright-${NAMES[code - 90]}`;
  return undefined;
}

/** Split a line into runs of text with their classes; escape sequences never reach the text. */
export function parseAnsi(line: string): Span[] {
  if (!line.includes("\x1b")) return [{ text: line, cls: "" }];
  const spans: Span[] = [];
  let colour = "";
  let bold = false;
  let last = 0;
  const cls = (): string => (bold ? (colour === "" ? "ansi-bold" : `${colour} ansi-bold`) : colour);
  const push = (text: string): void => {
    if (text === "") return;
    const c = cls();
    const prev = spans[spans.length - 1];
    if (prev !== undefined && prev.cls === c) prev.text += text;
    else spans.push({ text, cls: c });
  };
  for (const m of line.matchAll(ESCAPE)) {
    push(line.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] !== "m") continue; // not SGR: dropped
    const params = m[1] ?? "";
    if (!/^[0-9;]*$/.test(params)) continue;
    const codes = params === "" ? [0] : params.split(";").map((p) => (p === "" ? 0 : Number(p)));
    for (let i = 0; i < codes.length; i++) {
      const code = codes[i]!;
      if (code === 38 || code === 48) {
        // 256-colour and RGB forms (38;5;N, 38;2;R;G;B): not drawn, and their numbers skipped
        i += codes[i + 1] === 5 ? 2 : codes[i + 1] === 2 ? 4 : 0;
      } else if (code === 0) {
        colour = "";
        bold = false;
      } else if (code === 1) bold = true;
      else if (code === 22) bold = false;
      else if (code === 39) colour = "";
      else colour = colourClass(code) ?? colour;
    }
  }
  push(line.slice(last));
  return spans.length === 0 ? [{ text: "", cls: "" }] : spans;
}

/** The line's text without escape sequences (what search matches against). */
export function stripAnsi(line: string): string {
  return line.includes("\x1b") ? line.replace(ESCAPE, "") : line;
}
