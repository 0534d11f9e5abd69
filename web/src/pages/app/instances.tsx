import { Link } from "wouter";
import { seg } from "../../api";
import { Badge, Time } from "../../components/bits";
import { Table } from "../../components/table";
import { useLive } from "../../hooks";
import { Pending } from "./pending";
import { useCan } from "../../session";
import { ScaleControls } from "./scale";
import { ofApp, type PsEntry, type TabProps } from "./types";

/** The app's instances (live: apps and instances topics) and, for deployers, the scale controls. */
export function InstancesTab({ app, info }: TabProps) {
  const can = useCan();
  const ps = useLive<PsEntry[]>(`/v1/apps/${seg(app)}/ps`, ["apps", "instances"], ofApp(app));
  return (
    <>
      {info !== undefined && can("app", app, "deploy") ? (
        <ScaleControls app={app} info={info} />
      ) : null}
      <h2>Instances</h2>
      {ps.data === undefined ? (
        <Pending live={ps} rows={3} />
      ) : (
        <Table
          label="instances"
          rows={[...ps.data].sort(
            (a, b) => a.processType.localeCompare(b.processType) || a.index - b.index,
          )}
          rowKey={(p) => p.id}
          rowTestId={() => "instance-row"}
          empty="No instances run."
          columns={[
            {
              title: "Instance",
              cell: (p) => (
                <span title={p.id}>
                  <code>{p.name}</code> <span className="muted">v{p.release}</span>
                </span>
              ),
            },
            { title: "Type", cell: (p) => p.processType },
            {
              title: "Node",
              cell: (p) => (
                <Link href={`/nodes/${seg(p.node)}`}>
                  {p.node}
                  {p.nodeDown === true ? " (down)" : ""}
                </Link>
              ),
            },
            {
              title: "State",
              cell: (p) => (
                <Badge state={p.desired === "draining" ? "draining" : p.state}>
                  {p.desired === "draining" ? `${p.state}, draining` : p.state}
                </Badge>
              ),
            },
            {
              title: "Health",
              cell: (p) =>
                p.health === undefined ? (
                  <span className="muted">—</span>
                ) : (
                  <Badge state={p.health} />
                ),
            },
            { title: "Started", cell: (p) => <Time at={p.startedAt} /> },
            {
              title: "Restarts",
              cell: (p) => p.restarts,
              className: "num hide-phone",
            },
            {
              title: "Port",
              cell: (p) => p.port ?? "—",
              className: "num hide-phone",
            },
          ]}
        />
      )}
    </>
  );
}
