import { useState } from "react";
import { seg } from "../api";
import { Badge, Time } from "../components/bits";
import { Skeleton } from "../components/page";
import { useLive } from "../hooks";

/** One resource of a run (src/model/converge.ts, RunRecord.resources). */
export interface RunResource {
  id: string;
  type: string;
  name: string;
  state: string;
  handler: boolean;
  status: "ok" | "changed" | "failed" | "skipped";
  changes: string[];
  message?: string;
  durationMs: number;
}

/** A converge run as an agent reported it (newest first per node). */
export interface Run {
  node: string;
  triggers: { kind: string; key?: string; service?: string; hash?: string }[];
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  statesHash: string;
  roles: string[];
  summary?: { ok: number; changed: number; failed: number; skipped: number };
  resources: RunResource[];
  error?: { code: string; message: string };
}

export const runFailed = (r: Run): boolean => r.error !== undefined || (r.summary?.failed ?? 0) > 0;

export function triggerText(t: Run["triggers"][number]): string {
  if (t.kind === "key") return `key ${t.key ?? ""}`;
  if (t.kind === "service") return `service ${t.service ?? ""}`;
  if (t.kind === "states") return `states ${(t.hash ?? "").slice(0, 8)}`;
  return t.kind;
}

export const duration = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;

/** A node's runs (live), the chosen one's changed and failed resources. */
export function NodeRuns(props: { node: string }) {
  const runs = useLive<Run[]>(
    `/v1/nodes/${seg(props.node)}/converge/runs`,
    ["converge"],
    (c) => c.name === props.node,
  );
  const [pick, setPick] = useState(0);
  if (runs.data === undefined) return <Skeleton rows={2} />;
  const run = runs.data[Math.min(pick, runs.data.length - 1)];
  if (run === undefined) return <p className="muted">No runs reported yet.</p>;
  return (
    <div className="f-details" data-testid={`converge-detail-${props.node}`}>
      {runs.data.length > 1 ? (
        <label>
          Run{" "}
          <select value={pick} onChange={(e) => setPick(Number(e.target.value))}>
            {runs.data.map((r, i) => (
              <option key={r.finishedAt + String(i)} value={i}>
                {new Date(r.finishedAt).toLocaleString()} — {runFailed(r) ? "failed" : "ok"},{" "}
                {r.summary?.changed ?? 0} changed
              </option>
            ))}
          </select>
        </label>
      ) : null}
      <RunDetail run={run} />
    </div>
  );
}

function RunDetail(props: { run: Run }) {
  const { run } = props;
  const changed = run.resources.filter((r) => r.status === "changed" || r.status === "failed");
  return (
    <>
      <p className="muted">
        Started <Time at={run.startedAt} />, took {duration(run.durationMs)}; roles{" "}
        {run.roles.join(", ") || "none"}; triggered by {run.triggers.map(triggerText).join(", ")};
        states {run.statesHash.slice(0, 12)}.
      </p>
      {run.error === undefined ? null : (
        <p className="error-box" role="alert">
          {run.error.message} <code className="muted">({run.error.code})</code>
        </p>
      )}
      {changed.length === 0 ? (
        <p className="muted">
          Nothing changed
          {run.summary === undefined ? "" : ` (${run.summary.ok} resources already as stated)`}.
        </p>
      ) : (
        <ul>
          {changed.map((r) => (
            <li key={r.id} data-testid="converge-resource">
              <Badge state={r.status === "failed" ? "failed" : "changed"}>{r.status}</Badge>{" "}
              <code>
                {r.type} {r.name}
              </code>{" "}
              <span className="muted">({r.state})</span>
              {r.changes.length > 0 ? <span>: {r.changes.join("; ")}</span> : null}
              {r.message === undefined ? null : (
                <div className={r.status === "failed" ? "error-box" : "muted"}>{r.message}</div>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
