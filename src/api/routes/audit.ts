import { isAdmin, type AuditEntry } from "../../model/token.js";
import { K } from "../../model/keys.js";
import { text, type Store } from "../../store/index.js";
import { auditKeyRange, matchesAudit, needsValues, parseAuditFilter } from "../audit-query.js";
import type { AuditFilter } from "../audit-query.js";
import { forbidden } from "../errors.js";
import type { ApiDeps, RouteDef } from "../server.js";

/** Values read per step while filtering backwards from the newest entry. */
const CHUNK = 500;

export function auditRoutes(deps: ApiDeps): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/v1/audit",
      summary:
        "Read the audit log, newest last (admin); ?limit=N (default 100), filters ?token ?action ?target ?since, ?before=ID for older entries",
      handler: async (ctx) => {
        ctx.allowQuery("limit", "token", "action", "target", "since", "before");
        if (!isAdmin(ctx.who.policies)) throw forbidden("read the audit log");
        const limit = ctx.int("limit", 100, 10_000);
        const filter = parseAuditFilter(ctx.query);
        ctx.send(200, await readAudit(deps.store, filter, limit));
      },
    },
  ];
}

type Listed = AuditEntry & { id: string };

/** The newest `limit` entries that match, oldest first; each with its `id` (the paging cursor). */
async function readAudit(store: Store, f: AuditFilter, limit: number): Promise<Listed[]> {
  if (limit === 0) return [];
  const { start, end } = auditKeyRange(f);
  const range = { key: K.audit + start, end: K.audit + end };
  const all = await store.range(range, { keysOnly: true });
  const keys = all.kvs.map((kv) => kv.key);
  const out: Listed[] = [];
  // Without value filters the newest `limit` keys are the answer; with them, read backwards
  // a chunk at a time until enough entries matched.
  const step = needsValues(f) ? CHUNK : limit;
  for (let hi = keys.length; hi > 0 && out.length < limit; hi -= step) {
    const lo = Math.max(0, hi - step);
    const res = await store.range({ key: keys[lo]!, end: keys[hi - 1]! + "\0" });
    const found: Listed[] = [];
    for (const kv of res.kvs) {
      const entry = parse(kv.value);
      if (entry !== undefined && matchesAudit(f, entry))
        found.push({ ...entry, id: kv.key.slice(K.audit.length) });
    }
    out.unshift(...found.slice(-(limit - out.length)));
  }
  return out;
}

function parse(value: Uint8Array): AuditEntry | undefined {
  try {
    return JSON.parse(text(value)) as AuditEntry;
  } catch {
    return undefined; // a damaged entry is left out, not a failed request
  }
}
