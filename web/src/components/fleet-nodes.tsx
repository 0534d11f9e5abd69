import { Link } from "wouter";
import { Badge, Time } from "./bits";
import { DrainButton } from "./fleet-drain";
import { addressOf, otherLabels, poolOf, type NodeRow } from "./fleet-types";
import type { Column } from "./table";

/** The node's state word: ready, draining, or down (a down node that drains says so). */
export const nodeState = (n: NodeRow): string => n.status;

/** "≤ 3 s ago" for a live node (its lease is renewed every second), "lost" for a down one. */
export function Heartbeat(props: { node: NodeRow }) {
  const n = props.node;
  if (n.status === "down") return <span className="muted">lost</span>;
  return (
    <span title={`a node is down when it misses its heartbeat for ${n.ttl ?? "?"} s`}>
      within {n.ttl ?? "?"} s
    </span>
  );
}

/** The nodes table's columns; `roles` maps node → its converge roles. */
export function nodeColumns(
  roles: ReadonlyMap<string, string[]>,
  reload: () => void,
): Column<NodeRow>[] {
  return [
    {
      title: "Node",
      cell: (n) => <Link href={`/nodes/${encodeURIComponent(n.name)}`}>{n.name}</Link>,
    },
    {
      title: "State",
      cell: (n) => (
        <Badge state={nodeState(n)} testId={`node-state-${n.name}`}>
          {n.status === "down" && n.draining === true ? "down (draining)" : n.status}
        </Badge>
      ),
    },
    { title: "Instances", className: "num", cell: (n) => n.instances },
    { title: "Address", className: "hide-phone", cell: (n) => addressOf(n) ?? "—" },
    { title: "Pool", className: "hide-phone", cell: (n) => poolOf(n) ?? "—" },
    {
      title: "Roles / labels",
      className: "hide-phone",
      cell: (n) => {
        const words = [...(roles.get(n.name) ?? []), ...otherLabels(n)];
        return words.length === 0 ? <span className="muted">—</span> : words.join(", ");
      },
    },
    { title: "Heartbeat", className: "hide-phone", cell: (n) => <Heartbeat node={n} /> },
    { title: "Up since", className: "hide-phone", cell: (n) => <Time at={n.joinedAt} /> },
    { title: "", cell: (n) => <DrainButton node={n} onDone={reload} /> },
  ];
}
