import { useEffect, useState, type ReactNode } from "react";

const TONE: Record<string, string> = {
  ready: "ok",
  running: "ok",
  passing: "ok",
  healthy: "ok",
  succeeded: "ok",
  done: "ok",
  synced: "ok",
  live: "ok",
  up: "ok",
  draining: "warn",
  deploying: "warn",
  pending: "warn",
  starting: "warn",
  building: "warn",
  warning: "warn",
  reconnecting: "warn",
  "out-of-sync": "warn",
  down: "bad",
  failed: "bad",
  failing: "bad",
  critical: "bad",
  crashed: "bad",
  error: "bad",
  lost: "bad",
};

/** A state word in its colour (green ok, amber in progress, red failing; grey otherwise). */
export function Badge(props: { state: string; testId?: string; children?: ReactNode }) {
  const tone = TONE[props.state.toLowerCase()] ?? "neutral";
  return (
    <span className={`badge ${tone}`} data-testid={props.testId}>
      {props.children ?? props.state}
    </span>
  );
}

/** "3 min ago", with the exact time on hover; re-rendered every 30 s. */
export function Time(props: { at: string | undefined }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((n) => n + 1), 30_000);
    return () => clearInterval(t);
  }, []);
  if (props.at === undefined || props.at === "") return <span className="muted">—</span>;
  const when = Date.parse(props.at);
  if (Number.isNaN(when)) return <span>{props.at}</span>;
  return (
    <time dateTime={props.at} title={new Date(when).toLocaleString()}>
      {ago(Date.now() - when)}
    </time>
  );
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * A value hidden until "Reveal" is pressed (config values, secrets). With `load` instead of
 * `value`, the value is fetched on the first Reveal (so it is neither read nor in the DOM before).
 */
export function Secret(props: { value?: string; load?: () => Promise<string | undefined> }) {
  const [shown, setShown] = useState(false);
  const [loaded, setLoaded] = useState<string | undefined>(undefined);
  const [failed, setFailed] = useState<string | undefined>(undefined);
  const value = props.value ?? loaded;
  const toggle = async (): Promise<void> => {
    if (shown) return setShown(false);
    if (value === undefined && props.load !== undefined) {
      try {
        setLoaded(await props.load());
        setFailed(undefined);
      } catch (err) {
        return setFailed(err instanceof Error ? err.message : String(err));
      }
    }
    setShown(true);
  };
  return (
    <span className="secret">
      {shown ? <code>{value ?? ""}</code> : <code aria-label="hidden value">••••••••</code>}
      <button type="button" className="btn link" onClick={() => void toggle()}>
        {shown ? "Hide" : "Reveal"}
      </button>
      {failed === undefined ? null : (
        <span className="error-inline" role="alert">
          {failed}
        </span>
      )}
    </span>
  );
}
