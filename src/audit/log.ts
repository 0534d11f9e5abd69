import type { AuditEntry } from "../model/token.js";
import { K } from "../model/keys.js";
import type { TxnOp } from "../store/index.js";

/**
 * Audit entries are written in the same Store transaction as the change they describe, so a
 * change without its entry (or the reverse) cannot happen, and it costs no extra round trip.
 * Keys sort by time: `sys/audit/<ms, 13 digits>-<server>-<seq>`.
 */
export class AuditLog {
  private seq = 0;

  constructor(private readonly serverId: string) {}

  /** The put that records one change, to append to the change's transaction. */
  entry(who: { name: string; tokenId: string }, action: string, target: string): TxnOp {
    const now = Date.now();
    this.seq = (this.seq + 1) % 1_000_000;
    const key = `${K.audit}${String(now).padStart(13, "0")}-${this.serverId}-${String(this.seq).padStart(6, "0")}`;
    const entry: AuditEntry = {
      time: new Date(now).toISOString(),
      token: who.name,
      tokenId: who.tokenId,
      action,
      target,
    };
    return { type: "put", key, value: JSON.stringify(entry) };
  }
}
