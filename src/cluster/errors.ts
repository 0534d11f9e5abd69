import { GantryError } from "../errors.js";

/** This server's etcd member was removed from the cluster (by dead-server cleanup). */
export class ServerRemovedError extends GantryError {
  constructor() {
    super(
      "server_removed",
      "this server was removed from the cluster (it was unreachable longer than --dead-server-cleanup); " +
        "wipe DATA_DIR/etcd and DATA_DIR/cluster.json and join again: gantry server --join URL --join-token T",
      { status: 409 },
    );
  }
}

/** `--cluster-init` (or `--join`) on a data directory that already belongs to a cluster. */
export class ClusterDataDirError extends GantryError {
  constructor(message: string) {
    super("cluster_data_dir", message, { status: 409 });
  }
}

/** The supervised etcd did not start; the message carries the tail of DATA_DIR/etcd.log. */
export class EtcdStartError extends GantryError {
  constructor(message: string) {
    super("etcd_failed", message, { status: 500 });
  }
}
