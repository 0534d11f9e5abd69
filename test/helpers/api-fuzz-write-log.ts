import type { Store } from "../../src/store/types.js";

/**
 * Every change to the store, by revision. A lease that expires deletes its keys by itself, in
 * the middle of whatever request is running; those deletions (of keys that had a lease) are
 * not the request's doing. Anything else in a request's window of revisions is.
 */
export class WriteLog {
  private readonly changes = new Map<number, string[]>();
  private seen = 0;
  private readonly watch;

  constructor(s: Store, from: number) {
    this.seen = from - 1;
    this.watch = s.watch({ prefix: "" }, { startRevision: from, prevKv: true });
    void this.follow();
  }

  private async follow(): Promise<void> {
    try {
      for await (const batch of this.watch) {
        for (const e of batch) {
          const rev = e.kv.modRevision;
          const byExpiry = e.type === "delete" && e.prevKv !== undefined && e.prevKv.lease !== "0";
          if (!byExpiry) {
            const list = this.changes.get(rev) ?? [];
            list.push(`${e.type} ${e.kv.key}`);
            this.changes.set(rev, list);
          }
          this.seen = Math.max(this.seen, rev);
        }
      }
    } catch {
      // cancelled at the end
    }
  }

  /** The writes in revisions (from, to] that were not leases expiring. */
  async between(from: number, to: number): Promise<string[]> {
    const until = Date.now() + 2000;
    while (this.seen < to && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
    if (this.seen < to) throw new Error(`the write log stopped at revision ${this.seen} (< ${to})`);
    const out: string[] = [];
    for (const [rev, list] of this.changes) {
      if (rev > from && rev <= to) out.push(...list.map((c) => `@${rev} ${c}`));
      if (rev <= to) this.changes.delete(rev);
    }
    return out;
  }

  stop(): void {
    this.watch.cancel();
  }
}
