import { memo, type ReactNode } from "react";
import { parseAnsi } from "../ansi";
import type { LogLine } from "./log-buffer";

/** The height of one row in pixels (fixed, so 100,000 rows are a multiplication, not a layout). */
export const ROW = 18;

const pad = (n: number, w = 2): string => String(n).padStart(w, "0");

/** `HH:MM:SS.mmm` in local time (the whole ISO time on hover). */
export function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** One of 6 colours per process type, so web, worker and build lines tell apart at a glance. */
function sourceTone(source: string): number {
  const type = source.split(".")[0] ?? "";
  let h = 0;
  for (let i = 0; i < type.length; i++) h = (h * 31 + type.charCodeAt(i)) | 0;
  return Math.abs(h) % 6;
}

/** `text` with every (case-insensitive) occurrence of `q` in a <mark>. */
function highlight(text: string, q: string): ReactNode {
  if (q === "") return text;
  const lower = text.toLowerCase();
  const out: ReactNode[] = [];
  let at = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
    if (i > at) out.push(text.slice(at, i));
    out.push(<mark key={i}>{text.slice(i, i + q.length)}</mark>);
    at = i + q.length;
  }
  if (out.length === 0) return text;
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/**
 * A row: its position (which moves whenever older lines leave the ring) around its content
 * (which never changes, so it is not rendered again).
 */
export function LogRow(props: { line: LogLine; q: string; y: number }) {
  return (
    <div
      className="log-line"
      data-testid="log-line"
      data-seq={props.line.seq}
      style={{ transform: `translateY(${props.y}px)` }}
    >
      <LineContent line={props.line} q={props.q} />
    </div>
  );
}

/** A line: time, source, then its text in its ANSI colours, search matches marked. */
const LineContent = memo(function LineContent(props: { line: LogLine; q: string }) {
  const { line, q } = props;
  return (
    <>
      <span className="log-time" title={line.time}>
        {clock(line.time)}
      </span>
      <span className={`log-src tone-${sourceTone(line.source)}`}>{line.source}</span>
      <span className="log-text">
        {parseAnsi(line.text).map((s, i) =>
          s.cls === "" ? (
            <span key={i}>{highlight(s.text, q)}</span>
          ) : (
            <span key={i} className={s.cls}>
              {highlight(s.text, q)}
            </span>
          ),
        )}
      </span>
    </>
  );
});
