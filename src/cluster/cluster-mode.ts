/**
 * How a server starts its etcd (pure): a new cluster (`--cluster-init`), joining one (`--join`),
 * a restart of the member its data directory holds, or `--force-new-cluster` on a survivor —
 * and the refusals when the flags do not fit the data directory.
 */
import { ClusterDataDirError } from "./errors.js";
import type { ClusterIdentity } from "./identity.js";

/** `gantry server`'s cluster flags (see src/cli/server-cluster-flags.ts). */
export interface ClusterOptions {
  init?: true;
  join?: { url: string; token: string };
  /** The server's name = its etcd member name. */
  name: string;
  /** HOST:PORT etcd's peers talk to (for a member that has run: the saved one wins). */
  peerAddr: string;
  /** HOST:PORT etcd's clients (this server's store) talk to. */
  clientAddr: string;
  forceNewCluster?: true;
}

export type ClusterMode =
  | { kind: "init" }
  /** `wipe`: DATA_DIR/etcd is left from a join that never finished (no cluster.json). */
  | { kind: "join"; url: string; token: string; wipe: boolean }
  | { kind: "restart"; identity: ClusterIdentity }
  | { kind: "force"; identity: ClusterIdentity };

export function clusterMode(
  o: ClusterOptions,
  dataDir: string,
  have: { identity: ClusterIdentity | undefined; etcdData: boolean },
): ClusterMode {
  const id = have.identity;
  const whose =
    id === undefined
      ? `${dataDir} belongs to a cluster (it holds etcd data in ${dataDir}/etcd)`
      : `${dataDir} belongs to cluster ${id.clusterId} (server ${id.name})`;
  if (o.init === true) {
    if (id !== undefined || have.etcdData)
      throw new ClusterDataDirError(
        `${whose}; start it without --cluster-init to rejoin it, or remove ${dataDir} to make a new cluster`,
      );
    return { kind: "init" };
  }
  if (o.join !== undefined) {
    if (id !== undefined)
      throw new ClusterDataDirError(
        `${whose}; start it without --join to rejoin it, or remove ${dataDir}/etcd and ${dataDir}/cluster.json to join anew`,
      );
    return { kind: "join", ...o.join, wipe: have.etcdData };
  }
  if (id === undefined)
    throw new ClusterDataDirError(
      have.etcdData
        ? `${dataDir}/etcd holds etcd data but ${dataDir}/cluster.json is missing: remove ${dataDir}/etcd and join again (gantry server --join URL --join-token T)`
        : `${dataDir} belongs to no cluster: start the first server with --cluster-init, the others with --join URL --join-token T`,
    );
  return o.forceNewCluster === true
    ? { kind: "force", identity: id }
    : { kind: "restart", identity: id };
}

/** `etcd://own,others…` for openStore: the store prefers the first (this server's member). */
export function storeLocation(first: string, rest: string[]): string {
  const hostPort = (u: string): string => u.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const all = [first, ...rest.filter((u) => hostPort(u) !== hostPort(first))];
  return `etcd://${[...new Set(all.map(hostPort))].join(",")}`;
}
