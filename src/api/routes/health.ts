import type { ApiDeps, RouteDef } from "../server.js";

export function healthRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/health",
      summary: "Liveness and the store's revision (no token needed)",
      public: true,
      handler: async (ctx) => {
        ctx.allowQuery();
        const st = await deps.store.status();
        ctx.send(200, { status: "ok", store: st.backend, revision: st.revision });
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
