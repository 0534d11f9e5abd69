import { Badge, Time } from "../components/bits";
import { Empty, Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useLive } from "../hooks";
import { LastApplyView, type LastApply } from "./stack-plan";
import "../data-pages.css";

/** GET /v1/stack/info (src/model/stack.ts, StackInfoSchema). */
interface StackInfo {
  name?: string;
  gitUrl?: string;
  branch?: string;
  path?: string;
  commit?: string;
  state?: string;
  drift?: { checkedAt: string; items: string[]; fields?: Record<string, string[]> };
  lastSync?: { at: string; commit?: string; result: string; message?: string };
  lastApply?: LastApply;
}

/** An ownership record (GET /v1/stack/items). */
interface Item {
  kind: string;
  name: string;
  stack: string;
  commit?: string;
  protect: boolean;
  drift?: string;
  appliedAt: string;
  appliedBy: string;
}

/** The stack: where it comes from, its sync state, the last apply's plan, its items; live. */
export function Stack() {
  const info = useLive<StackInfo>("/v1/stack/info", ["stack"], (c) => c.name === "info");
  const items = useLive<Item[]>("/v1/stack/items", ["stack"], (c) => c.name.startsWith("items/"));
  const ready = info.data !== undefined || info.error !== undefined;
  const i = info.data;
  const list = items.data ?? [];
  const unused =
    i !== undefined &&
    i.lastApply === undefined &&
    i.lastSync === undefined &&
    i.commit === undefined &&
    items.data !== undefined &&
    list.length === 0;
  const drifted = new Set(i?.drift?.items ?? []);
  return (
    <Page title="Stack" ready={ready} error={info.error ?? items.error}>
      {i === undefined ? (
        info.error === undefined ? (
          <Skeleton rows={6} />
        ) : null
      ) : unused ? (
        <Empty>
          <span data-testid="stack-unused">
            No stack yet. Push a folder with a <code>gantry.yaml</code> to{" "}
            <code>{i.gitUrl ?? "the stack repo"}</code>, apply one with <code>gantry apply</code>,
            or follow a repo: <code>gantry stack:connect URL --branch main --path FOLDER</code>.
          </span>
        </Empty>
      ) : (
        <>
          <section className="panel" aria-label="source and sync">
            <dl className="kv-list">
              <dt>Stack</dt>
              <dd>{i.name ?? "(not named yet)"}</dd>
              <dt>Repo</dt>
              <dd>
                <code>{i.gitUrl ?? "(none: applied from a folder)"}</code>
              </dd>
              <dt>Branch</dt>
              <dd>{i.branch ?? "—"}</dd>
              <dt>Path</dt>
              <dd>{i.path === undefined || i.path === "" ? "(repo root)" : i.path}</dd>
              <dt>State</dt>
              <dd>
                <Badge state={i.state ?? "unknown"} testId="stack-state">
                  {i.state ?? (i.lastApply === undefined ? "never applied" : "applied")}
                </Badge>
                {drifted.size > 0 ? (
                  <>
                    {" "}
                    <Badge state="out-of-sync">{drifted.size} drifted</Badge>
                  </>
                ) : null}
              </dd>
              <dt>Commit</dt>
              <dd>
                <code>{i.commit?.slice(0, 12) ?? "(unknown)"}</code>
              </dd>
              <dt>Last sync</dt>
              <dd data-testid="stack-last-sync">
                {i.lastSync === undefined ? (
                  "never"
                ) : (
                  <>
                    <Badge state={i.lastSync.result === "synced" ? "synced" : "failed"}>
                      {i.lastSync.result}
                    </Badge>{" "}
                    <Time at={i.lastSync.at} />
                    {i.lastSync.commit === undefined ? "" : ` at ${i.lastSync.commit.slice(0, 12)}`}
                    {i.lastSync.message === undefined ? null : (
                      <pre className="error-box">{i.lastSync.message}</pre>
                    )}
                  </>
                )}
              </dd>
            </dl>
          </section>
          <h2>Last apply</h2>
          <LastApplyView apply={i.lastApply} />
          <h2>Items ({list.length})</h2>
          <Table<Item>
            label="items the stack manages"
            rows={[...list].sort((a, b) =>
              `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`),
            )}
            rowKey={(x) => `${x.kind}/${x.name}`}
            rowTestId={(x) => `stack-item-${x.kind}/${x.name}`}
            empty="The stack manages no items."
            columns={[
              { title: "Kind", cell: (x) => x.kind },
              { title: "Name", cell: (x) => <code>{x.name}</code> },
              {
                title: "State",
                cell: (x) => (
                  <>
                    {drifted.has(`${x.kind}/${x.name}`) ? (
                      <Badge state="out-of-sync">drifted</Badge>
                    ) : (
                      <Badge state="synced">applied</Badge>
                    )}
                    {x.protect ? <span className="muted"> protected</span> : null}
                    {drifted.has(`${x.kind}/${x.name}`) &&
                    i.drift?.fields?.[`${x.kind}/${x.name}`] !== undefined ? (
                      <span className="muted">
                        {" "}
                        ({i.drift.fields[`${x.kind}/${x.name}`]!.join(", ")})
                      </span>
                    ) : null}
                  </>
                ),
              },
              {
                title: "Applied",
                cell: (x) => (
                  <>
                    <Time at={x.appliedAt} /> <span className="muted">by {x.appliedBy}</span>
                  </>
                ),
              },
              { title: "Commit", cell: (x) => <code>{x.commit?.slice(0, 12) ?? "—"}</code> },
            ]}
          />
        </>
      )}
    </Page>
  );
}
