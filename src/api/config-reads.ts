import { allows } from "../model/token.js";
import type { Principal } from "../model/principal.js";
import type { Ctx } from "./context.js";
import { forbidden } from "./errors.js";
import type { ApiDeps } from "./server.js";

/**
 * Config values are secrets: reading them takes app deploy (or write) (a viewer's read-only token is refused
 * with a message that says so), and every read is written to the audit log.
 */
export function requireConfigRead(who: Principal, app: string): void {
  if (!allows(who.policies, "app", app, "deploy")) {
    throw forbidden(
      `read the config values of app "${app}": they are secrets, readable with app deploy or write only (not by viewers)`,
    );
  }
}

/** Record that `who` read the config values of `apps` (one audit entry per request). */
export async function auditConfigRead(deps: ApiDeps, ctx: Ctx, apps: string[]): Promise<void> {
  if (apps.length === 0) return;
  await deps.store.txn({ success: [deps.audit.entry(ctx.who, "config.read", apps.join(","))] });
}
