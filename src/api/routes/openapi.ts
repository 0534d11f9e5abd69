import { buildOpenApi } from "../openapi.js";
import type { RouteDef } from "../server.js";

/**
 * GET /v1/openapi.json. `routes` is read at the first request, not now: the route list is still
 * being assembled when this is registered, and the document should describe all of it.
 */
export function openapiRoutes(routes: () => readonly RouteDef[]): RouteDef[] {
  let doc: Buffer | undefined;
  return [
    {
      method: "GET",
      path: "/v1/openapi.json",
      summary: "This API as an OpenAPI 3.1 document",
      handler: (ctx) => {
        ctx.allowQuery();
        doc ??= Buffer.from(JSON.stringify(buildOpenApi(routes())));
        ctx.sendRaw(200, doc, "application/json; charset=utf-8");
      },
    },
  ];
}
