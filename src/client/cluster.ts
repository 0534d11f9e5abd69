import { ClusterServersSchema, type ClusterServers } from "../model/server.js";
import { parseWith } from "../validate.js";
import type { GantryClient } from "./client.js";

/** The control plane's own servers (src/api/routes/cluster-servers.ts, docs/ha.md). */
export class ClusterClient {
  constructor(readonly client: GantryClient) {}

  /** `GET /v1/cluster/servers`: the etcd members, their Gantry servers, the quorum. */
  async servers(): Promise<ClusterServers> {
    const body = await this.client.json<unknown>("GET", "/v1/cluster/servers");
    return parseWith(ClusterServersSchema, body, "servers answer");
  }
}
