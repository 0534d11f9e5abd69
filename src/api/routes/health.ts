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
        ctx.send(200, {
          status: "ok",
          store: st.backend,
          revision: st.revision,
          ...(leads === undefined ? {} : { controllers: leads ? "leader" : "standby" }),
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
