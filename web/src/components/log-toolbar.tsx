import { useEffect, useState, type RefObject } from "react";

/** How long typing must stop before the search runs (a scan of 100,000 lines takes a few ms). */
const DEBOUNCE_MS = 150;

export interface ToolbarProps {
  searchRef: RefObject<HTMLInputElement | null>;
  initialQuery: string;
  onQuery: (q: string) => void;
  follow: boolean;
  onFollow: (follow: boolean) => void;
  paused: boolean;
  /** Lines that arrived while paused. */
  held: number;
  onPaused: (paused: boolean) => void;
  ps: string;
  types: string[];
  onPs: (ps: string) => void;
  tail: number;
  onTail: (tail: number) => void;
}

export const TAILS = [1000, 10_000, 100_000];

/** Search, process filter, how many lines, follow and pause. */
export function LogToolbar(props: ToolbarProps) {
  const [text, setText] = useState(props.initialQuery);
  const { onQuery } = props;
  useEffect(() => {
    const t = setTimeout(() => onQuery(text), DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [text, onQuery]);
  return (
    <div className="log-toolbar" role="toolbar" aria-label="log controls">
      <input
        ref={props.searchRef}
        type="search"
        className="log-search"
        data-testid="log-search"
        placeholder="Search (/)"
        aria-label="search the lines"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            setText("");
            e.currentTarget.blur();
          }
        }}
      />
      <label>
        <span className="muted">Process </span>
        <select data-testid="log-ps" value={props.ps} onChange={(e) => props.onPs(e.target.value)}>
          <option value="">all</option>
          {props.types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span className="muted">Lines </span>
        <select
          data-testid="log-tail"
          value={props.tail}
          onChange={(e) => props.onTail(Number(e.target.value))}
        >
          {TAILS.map((n) => (
            <option key={n} value={n}>
              {n.toLocaleString("en")}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        className="btn"
        data-testid="log-follow"
        aria-pressed={props.follow}
        title="keep the newest line in view (f)"
        onClick={() => props.onFollow(!props.follow)}
      >
        Follow
      </button>
      <button
        type="button"
        className="btn"
        data-testid="log-pause"
        aria-pressed={props.paused}
        title="stop showing new lines; they are kept and shown on resume"
        onClick={() => props.onPaused(!props.paused)}
      >
        {props.paused ? "Resume" : "Pause"}
      </button>
      {props.paused && props.held > 0 ? (
        <button
          type="button"
          className="btn link"
          data-testid="log-held"
          onClick={() => props.onPaused(false)}
        >
          {props.held.toLocaleString("en")} new {props.held === 1 ? "line" : "lines"}
        </button>
      ) : null}
    </div>
  );
}
