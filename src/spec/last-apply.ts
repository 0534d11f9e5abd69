/**
 * How an apply ended, for people and for `stack/info`: shared by `gantry apply` and the git
 * sync (src/gitops/engine.ts).
 */
import type { StackClient } from "../client/stack.js";
import type { ApplyResult } from "./apply.js";
import type { Plan } from "./plan.js";
import { planRecord } from "./plan-record.js";

/** `Apply complete: 3 created, 1 updated, 0 destroyed.` */
export function completeLine(r: ApplyResult): string {
  const replaced = r.replaced > 0 ? `, ${r.replaced} replaced` : "";
  return `Apply complete: ${r.created} created, ${r.updated} updated${replaced}, ${r.destroyed} destroyed.`;
}

/** Who applied what, and how it ended (no result: it failed, with `message`). */
export interface ApplyOutcome {
  name: string;
  by: string;
  commit?: string;
  result?: ApplyResult;
  message?: string;
  /** The plan it carried out (kept, small and without sensitive values, for the dashboard). */
  plan?: Plan;
}

/** Write `stack/info`'s lastApply; a failure to write it is ignored (the apply stands). */
export async function recordLastApply(stacks: StackClient, o: ApplyOutcome): Promise<void> {
  const counts = o.result ?? { created: 0, updated: 0, replaced: 0, destroyed: 0 };
  await stacks
    .updateInfo({
      name: o.name,
      lastApply: {
        at: new Date().toISOString(),
        by: o.by,
        ...(o.commit === undefined ? {} : { commit: o.commit }),
        result: o.result === undefined ? "failed" : "ok",
        ...counts,
        ...(o.message === undefined ? {} : { message: o.message.slice(0, 4000) }),
        ...(o.plan === undefined ? {} : { plan: planRecord(o.plan) }),
      },
    })
    .catch(() => undefined);
}
