import { useMemo } from "react";
import "../fleet.css";
import { nodeColumns } from "../components/fleet-nodes";
import type { NodeRow } from "../components/fleet-types";
import { Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useLive } from "../hooks";

interface ConvergeNode {
  node: string;
  roles: string[];
}

/**
 * Every node — ready, draining, or down with instances still assigned — with its address, pool,
 * roles and labels, instance count, and Drain/Undrain for tokens that may.
 */
export function Nodes() {
  const nodes = useLive<NodeRow[]>("/v1/nodes?all", ["nodes", "instances"]);
  // Roles come from the converge settings; a token that may not read them just sees labels.
  const converge = useLive<ConvergeNode[]>("/v1/converge/nodes", ["converge"]);
  const roles = useMemo(
    () => new Map((converge.data ?? []).map((c) => [c.node, c.roles])),
    [converge.data],
  );
  const columns = useMemo(() => nodeColumns(roles, nodes.reload), [roles, nodes.reload]);
  const counts = useMemo(() => countStates(nodes.data ?? []), [nodes.data]);
  return (
    <Page
      title="Nodes"
      ready={nodes.data !== undefined || nodes.error !== undefined}
      error={nodes.error}
    >
      {nodes.data === undefined ? (
        <Skeleton rows={5} />
      ) : (
        <>
          <p className="muted fleet-count">
            {counts.ready} ready · {counts.draining} draining · {counts.down} down
          </p>
          <Table
            label="nodes"
            columns={columns}
            rows={nodes.data}
            rowKey={(n) => n.name}
            rowTestId={(n) => `node-row-${n.name}`}
            empty={
              <>
                No nodes: start <code>gantry up</code>, or <code>gantry agent</code> on a machine.
              </>
            }
          />
        </>
      )}
    </Page>
  );
}

export function countStates(nodes: readonly NodeRow[]): Record<NodeRow["status"], number> {
  const out = { ready: 0, draining: 0, down: 0 };
  for (const n of nodes) out[n.status]++;
  return out;
}
