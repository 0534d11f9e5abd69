import { Badge, Time } from "../components/bits";

/** stack/info's lastApply.plan (src/model/stack.ts, PlanRecordSchema). */
export interface PlanRecord {
  summary: { create: number; update: number; replace: number; destroy: number; orphan: number };
  changes: {
    kind: string;
    name: string;
    action: string;
    note?: string;
    drift?: boolean;
    fields: { path: string; old?: string; new?: string; sensitive?: boolean }[];
    moreFields?: number;
  }[];
  moreChanges?: number;
}

export interface LastApply {
  at: string;
  by: string;
  commit?: string;
  result: "ok" | "failed";
  created: number;
  updated: number;
  replaced: number;
  destroyed: number;
  message?: string;
  plan?: PlanRecord;
}

const SYMBOL: Record<string, string> = {
  create: "+",
  update: "~",
  replace: "-/+",
  destroy: "-",
  orphan: "?",
};

function fieldText(f: PlanRecord["changes"][number]["fields"][number]): string {
  const path = f.path === "" ? "(value)" : f.path;
  if (f.sensitive === true) return `${path}: (sensitive)`;
  if (f.old === undefined) return `${path}: ${f.new ?? "(none)"}`;
  return `${path}: ${f.old} → ${f.new ?? "(none)"}`;
}

/** The last apply: who, when, how it ended, and the plan it carried out item by item. */
export function LastApplyView(props: { apply: LastApply | undefined }) {
  const a = props.apply;
  if (a === undefined) return <p className="muted">Never applied.</p>;
  const s = a.plan?.summary;
  return (
    <div data-testid="stack-last-apply">
      <p>
        <Badge state={a.result === "ok" ? "succeeded" : "failed"}>{a.result}</Badge>{" "}
        <Time at={a.at} /> by {a.by}
        {a.commit === undefined ? "" : ` at ${a.commit.slice(0, 12)}`}: {a.created} created,{" "}
        {a.updated} updated, {a.replaced} replaced, {a.destroyed} destroyed.
      </p>
      {a.message === undefined ? null : (
        <pre className="error-box" role="alert">
          {a.message}
        </pre>
      )}
      {a.plan === undefined ? (
        <p className="muted">This apply did not record its plan (an older Gantry made it).</p>
      ) : a.plan.changes.length === 0 ? (
        <p className="muted">Its plan changed nothing.</p>
      ) : (
        <>
          <p className="muted">
            Plan: {s?.create} to create, {s?.update} to update, {s?.replace} to replace,{" "}
            {s?.destroy} to destroy, {s?.orphan} orphaned.
          </p>
          <ul className="f-plan" data-testid="stack-plan">
            {a.plan.changes.map((c) => (
              <li key={`${c.kind}/${c.name}`} data-testid="stack-plan-item">
                <code className={c.action}>
                  {SYMBOL[c.action] ?? c.action} {c.kind} {c.name}
                </code>{" "}
                <span className="muted">
                  {c.action}
                  {c.drift === true ? "; drift: changed outside the stack" : ""}
                  {c.note === undefined ? "" : `; ${c.note}`}
                </span>
                {c.fields.length === 0 ? null : (
                  <ul>
                    {c.fields.map((f, i) => (
                      <li key={i}>
                        <code>{fieldText(f)}</code>
                      </li>
                    ))}
                    {c.moreFields === undefined ? null : (
                      <li className="muted">… and {c.moreFields} more fields</li>
                    )}
                  </ul>
                )}
              </li>
            ))}
            {a.plan.moreChanges === undefined ? null : (
              <li className="muted">
                … and {a.plan.moreChanges} more items (<code>gantry plan</code> shows them all)
              </li>
            )}
          </ul>
        </>
      )}
    </div>
  );
}
