import { useState } from "react";
import { Badge, Time } from "../components/bits";
import { Empty, Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useLive } from "../hooks";
import { duration, NodeRuns, runFailed, type Run } from "./converge-run";
import "../data-pages.css";

interface NodeSettings {
  node: string;
  roles: string[];
}

interface Row {
  node: string;
  roles: string[];
  run?: Run;
}

/** Converge runs per node: the last run of each (live), expanded to its changed resources. */
export function Converge() {
  const runs = useLive<Run[]>("/v1/converge/runs", ["converge"]);
  const nodes = useLive<NodeSettings[]>("/v1/converge/nodes", ["converge"]);
  const [open, setOpen] = useState<string | undefined>();
  const ready = runs.data !== undefined || runs.error !== undefined;
  const byNode = new Map<string, Row>();
  for (const n of nodes.data ?? []) byNode.set(n.node, { node: n.node, roles: n.roles });
  for (const r of runs.data ?? [])
    byNode.set(r.node, { node: r.node, roles: byNode.get(r.node)?.roles ?? r.roles, run: r });
  const rows = [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node));
  return (
    <Page title="Converge" ready={ready} error={runs.error}>
      {!ready ? (
        <Skeleton rows={4} />
      ) : rows.length === 0 ? (
        <Empty>
          No node converges yet. Push states with <code>gantry states push DIR</code> and give a
          node roles with <code>gantry nodes:roles NODE ROLE…</code>.
        </Empty>
      ) : (
        <>
          <Table<Row>
            label="converge runs per node"
            rows={rows}
            rowKey={(r) => r.node}
            rowTestId={(r) => `converge-row-${r.node}`}
            columns={[
              {
                title: "Node",
                cell: (r) => (
                  <button
                    type="button"
                    className="btn link"
                    aria-expanded={open === r.node}
                    aria-controls="converge-detail"
                    onClick={() => setOpen((o) => (o === r.node ? undefined : r.node))}
                  >
                    {open === r.node ? "▾" : "▸"} {r.node}
                  </button>
                ),
              },
              {
                title: "Last run",
                cell: (r) => (r.run === undefined ? "never" : <Time at={r.run.finishedAt} />),
              },
              {
                title: "Result",
                cell: (r) =>
                  r.run === undefined ? (
                    <Badge state="pending">waiting</Badge>
                  ) : runFailed(r.run) ? (
                    <Badge state="failed" testId={`converge-state-${r.node}`}>
                      failed
                    </Badge>
                  ) : (
                    <Badge state="ok" testId={`converge-state-${r.node}`}>
                      ok
                    </Badge>
                  ),
              },
              {
                title: "Changes",
                className: "num",
                cell: (r) => String(r.run?.summary?.changed ?? 0),
              },
              {
                title: "Failed",
                className: "num",
                cell: (r) => String(r.run?.summary?.failed ?? (r.run?.error ? 1 : 0)),
              },
              {
                title: "Took",
                className: "num",
                cell: (r) => (r.run === undefined ? "" : duration(r.run.durationMs)),
              },
              { title: "Roles", cell: (r) => r.roles.join(", ") || "—" },
            ]}
          />
          {open === undefined ? null : (
            <section id="converge-detail" className="panel" aria-label={`runs of ${open}`}>
              <h2>{open}</h2>
              <NodeRuns key={open} node={open} />
            </section>
          )}
        </>
      )}
    </Page>
  );
}
