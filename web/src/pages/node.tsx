import { Link, useParams } from "wouter";
import "../fleet.css";
import { seg } from "../api";
import { Badge, Time } from "../components/bits";
import { DrainButton } from "../components/fleet-drain";
import { Heartbeat } from "../components/fleet-nodes";
import { gib, type NodeDetail, type NodeInstance } from "../components/fleet-types";
import { Empty, Page, Skeleton } from "../components/page";
import { Table, type Column } from "../components/table";
import { useLive } from "../hooks";
import type { Change } from "../live";

const instanceColumns: Column<NodeInstance>[] = [
  {
    title: "App",
    cell: (i) => <Link href={`/apps/${encodeURIComponent(i.app)}`}>{i.app}</Link>,
  },
  { title: "Instance", cell: (i) => i.name },
  {
    title: "State",
    cell: (i) => (
      <Badge state={i.state}>
        {i.state}
        {i.desired === "draining" ? " (draining)" : ""}
      </Badge>
    ),
  },
  { title: "Health", cell: (i) => (i.health === undefined ? "—" : <Badge state={i.health} />) },
  { title: "Release", className: "hide-phone", cell: (i) => `v${i.release}` },
  { title: "Port", className: "num hide-phone", cell: (i) => i.port ?? "—" },
  { title: "Restarts", className: "num hide-phone", cell: (i) => i.restarts },
  { title: "Up", className: "hide-phone", cell: (i) => <Time at={i.startedAt} /> },
];

/** One node: its facts, labels, state (with Drain/Undrain), and the instances on it. */
export function NodePage() {
  const { name = "" } = useParams<{ name: string }>();
  // The node's own changes, and any instance change (an instance may be placed here).
  const match = (c: Change): boolean => c.topic !== "nodes" || c.name === name;
  const { data, error, reload } = useLive<NodeDetail>(
    `/v1/nodes/${seg(name)}?instances`,
    ["nodes", "instances"],
    match,
  );
  return (
    <Page
      title={
        <>
          <Link href="/nodes">Nodes</Link> / {name}
        </>
      }
      docTitle={`Node ${name}`}
      ready={data !== undefined || error !== undefined}
      error={error}
      actions={
        data === undefined ? undefined : (
          <DrainButton node={{ ...data, instances: data.assigned.length }} onDone={reload} />
        )
      }
    >
      {data === undefined ? (
        error === undefined ? (
          <Skeleton rows={6} />
        ) : null
      ) : (
        <>
          <div className="panel">
            <dl className="kv-list">
              <dt>State</dt>
              <dd>
                <Badge state={data.status} testId={`node-state-${name}`} />
              </dd>
              <dt>Heartbeat</dt>
              <dd>
                <Heartbeat node={data} />
              </dd>
              {data.facts === undefined ? null : (
                <>
                  <dt>Host</dt>
                  <dd>{data.facts.hostname}</dd>
                  <dt>Addresses</dt>
                  <dd>{data.facts.addresses.join(", ") || "—"}</dd>
                  <dt>CPUs</dt>
                  <dd>{data.facts.cpus}</dd>
                  <dt>Memory</dt>
                  <dd>{gib(data.facts.memory)}</dd>
                  <dt>OS</dt>
                  <dd>{[data.facts.os, data.facts.arch].filter(Boolean).join(" / ") || "—"}</dd>
                </>
              )}
              <dt>Up since</dt>
              <dd>
                <Time at={data.joinedAt} />
              </dd>
              <dt>Labels</dt>
              <dd>
                {Object.entries(data.labels ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(", ") || <span className="muted">—</span>}
              </dd>
              <dt>Converge</dt>
              <dd>
                <Link href={`/converge?node=${encodeURIComponent(name)}`}>
                  runs and changes on {name}
                </Link>
              </dd>
            </dl>
          </div>
          <h2>Instances ({data.assigned.length})</h2>
          {data.assigned.length === 0 ? (
            <Empty>No instances on this node.</Empty>
          ) : (
            <Table
              label={`instances on ${name}`}
              columns={instanceColumns}
              rows={data.assigned}
              rowKey={(i) => i.id}
              rowTestId={() => "node-instance-row"}
            />
          )}
        </>
      )}
    </Page>
  );
}
