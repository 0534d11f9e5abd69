import type { Command } from "commander";
import { ClusterClient } from "../client/cluster.js";
import type { ClusterServers, ServerRow } from "../model/server.js";
import { colours, json, table, type Output } from "../output/output.js";
import { clientFromEnv } from "./config.js";

/** `gantry servers`: the control plane's servers and their etcd members (docs/ha.md). */
export function registerServersCommands(program: Command, o: Output): void {
  program
    .command("servers")
    .description(
      "the control plane's servers: etcd role, health, last contact, raft index, and who leads the controllers",
    )
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
One row per etcd member, named after the Gantry server that runs it (a server on an etcd someone
else runs has a row of its own, without a role). ROLE is the member's raft role (leader,
follower, learner; unknown when it does not answer or has no leader); LAST CONTACT is when its
status last answered the server you asked; CONTROLLERS marks the server leading the controllers.
A member unreachable longer than --dead-server-cleanup (default 30s) is removed by the leader
while the others keep a majority (docs/ha.md, "Dead servers").
Examples:
  $ gantry servers
  $ gantry servers --json | jq '.servers[] | select(.health != "healthy") | .name'
  $ gantry servers --json | jq .quorum`,
    )
    .action(async (opts: { json?: boolean }) => {
      const view = await new ClusterClient(clientFromEnv()).servers();
      if (opts.json === true) return json(o, view);
      showServers(o, view);
    });
}

export function showServers(o: Output, view: ClusterServers, now = Date.now()): void {
  const c = colours(o);
  const role = (r: ServerRow): string =>
    r.memberId === null && view.store === "etcd"
      ? "-"
      : r.role === "leader"
        ? c.bold("leader")
        : r.role;
  table(
    o,
    ["NAME", "ROLE", "HEALTH", "LAST CONTACT", "RAFT INDEX", "API", "CONTROLLERS"],
    view.servers.map((r) => [
      r.name || `(member ${r.memberId ?? "?"})`,
      role(r),
      r.health === "healthy" ? c.green("healthy") : c.red(r.health),
      r.lastContact === null ? "never" : ago(r.lastContact, now),
      r.raftIndex === null ? "-" : String(r.raftIndex),
      r.apiUrl ?? "-",
      r.controllers ? "leader" : "-",
    ]),
    "(no servers answered)",
  );
  const q = view.quorum;
  if (view.store === "etcd")
    o.out(
      q.ok
        ? c.dim(`quorum: ${q.reachable} of ${q.voters} voters reachable`)
        : c.red(
            `NO QUORUM: ${q.reachable} of ${q.voters} voters reachable; the control plane is read-only`,
          ),
    );
  if (view.controllers === null) o.out(c.dim("no server leads the controllers right now"));
}

/** "now", "3s ago", "2m ago" since an ISO time. */
function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s === 0) return "now";
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}
