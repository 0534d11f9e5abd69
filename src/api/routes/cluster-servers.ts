import { readServerRecords } from "../../cluster/registration.js";
import { clusterView, embeddedView } from "../../cluster/servers-view.js";
import { LEADER_KEY } from "../../controllers/leader.js";
import { allowsPrefix } from "../../model/token.js";
import { text } from "../../store/index.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

/**
 * `GET /v1/cluster/servers` (`gantry servers`): the etcd members as this server's prober sees
 * them, the Gantry server registered with each, and which one leads the controllers. Readable
 * by whoever may read nodes. Without quorum the store's reads may fail: the members are shown
 * anyway, from the probes, without the servers' records.
 */
export function clusterServerRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/cluster/servers",
      summary:
        "The control plane's servers: etcd members with role, health, last contact, raft index, API URL; the controllers' leader; quorum",
      handler: async (ctx) => {
        ctx.allowQuery();
        if (!allowsPrefix(ctx.who.policies, "node", "", "read")) throw forbidden("read servers");
        const [records, leader] = await Promise.all([
          readServerRecords(deps.store).then((rs) => rs.map((r) => r.record)),
          deps.store
            .get(LEADER_KEY)
            .then((kv) => (kv === undefined ? undefined : text(kv.value)))
            .catch(() => undefined),
        ]);
        if (deps.store.backend === "sqlite") {
          ctx.send(200, embeddedView(records, leader, Date.now()));
          return;
        }
        const obs = await deps.serverProber?.observe();
        ctx.send(200, clusterView(obs, records, leader));
      },
    },
  ];
}
