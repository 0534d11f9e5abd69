import type { ApiDeps, RouteDef } from "../server.js";

export function healthRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/health",
      summary:
        "Liveness, the store's revision, and whether this server leads the controllers (no token needed)",
      public: true,
      handler: async (ctx) => {
        ctx.allowQuery();
        const st = await deps.store.status();
        const leads = deps.controllers?.isLeader();
        const lost = deps.store.degraded;
        ctx.send(200, {
          status: "ok",
          store: st.backend,
          revision: st.revision,
          ...(leads === undefined ? {} : { controllers: leads ? "leader" : "standby" }),
          // Read-only until a majority of the etcd members is back (docs/ha.md, "Quorum loss").
          ...(lost === undefined
            ? {}
            : {
                quorum: {
                  ok: false,
                  voters: lost.voters,
                  reachable: lost.reachable,
                  since: new Date(lost.since).toISOString(),
                },
              }),
        });
      },
    },
    {
      method: "GET",
      path: "/metrics",
      summary: "Prometheus metrics (no token needed)",
      public: true,
      handler: async (ctx) => {
        const body = Buffer.from(await deps.metrics.registry.metrics());
        ctx.sendRaw(200, body, deps.metrics.registry.contentType);
      },
    },
  ];
}
