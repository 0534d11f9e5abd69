import { isAdmin } from "../../model/token.js";
import { K } from "../../model/keys.js";
import { text } from "../../store/values.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

export function auditRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/audit",
      summary: "Read the audit log, newest last (admin); ?limit=N (default 100)",
      handler: async (ctx) => {
        ctx.allowQuery("limit");
        if (!isAdmin(ctx.who.policies)) throw forbidden("read the audit log");
        const limit = ctx.int("limit", 100, 10_000);
        const all = await deps.store.range({ prefix: K.audit }, { keysOnly: true });
        // Entries sort by time; read only the newest `limit` values.
        const keys = all.kvs.slice(-limit).map((kv) => kv.key);
        if (keys.length === 0) return ctx.send(200, []);
        const res = await deps.store.range({ key: keys[0]!, end: K.audit + "\uffff" });
        ctx.send(
          200,
          res.kvs.slice(-limit).map((kv) => JSON.parse(text(kv.value)) as unknown),
        );
      },
    },
  ];
}
