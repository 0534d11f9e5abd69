import type { ApiDeps, RouteDef } from "../server.js";
import { auditRoutes } from "./audit.js";
import { healthRoutes } from "./health.js";
import { kvRoutes } from "./kv.js";
import { tokenRoutes } from "./tokens.js";
import { txnRoutes } from "./txn.js";
import { watchRoutes } from "./watch.js";

/** Every API route, in one list (the OpenAPI document is generated from it). */
export function registerRoutes(deps: ApiDeps): RouteDef[] {
  return [
    ...healthRoutes(deps),
    ...tokenRoutes(deps),
    ...auditRoutes(deps),
    ...kvRoutes(deps),
    ...txnRoutes(deps),
    ...watchRoutes(deps),
  ];
}
