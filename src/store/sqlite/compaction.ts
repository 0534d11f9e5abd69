import type Database from "better-sqlite3";
import type { Revisions } from "./reads.js";
import type { Statements } from "./statements.js";

/** Log rows examined per compaction transaction. */
const CHUNK_ROWS = 5000;

/**
 * Physical compaction. compact() first moves the compact revision (in the write queue, so reads
 * and watches below it fail at once); this then deletes the rows nothing can read any more, in
 * small transactions with a turn of the event loop between them so writes and reads keep
 * flowing. Rows left behind by a crash are harmless (reads pick the newest row at or before
 * their revision) and the next run removes them; `compacted_through` records a finished run.
 */
export class Compactor {
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database.Database,
    private readonly st: Statements,
    private readonly revs: Revisions,
    private readonly closed: () => boolean,
  ) {}

  /** Delete what the current compact revision made unreachable; runs are serialized. */
  run(): Promise<void> {
    const next = this.tail.catch(() => undefined).then(() => this.runOnce());
    this.tail = next;
    return next;
  }

  /** True when a previous run did not finish (it was cut short by a crash or close). */
  behind(): boolean {
    return (
      ((this.st.getMeta.get("compacted_through") as number | undefined) ?? 0) < this.revs.compactRev
    );
  }

  private async runOnce(): Promise<void> {
    if (this.closed()) return;
    const target = this.revs.compactRev;
    let lo = (this.st.minRev.get() as number | null) ?? target;
    while (lo < target) {
      if (this.closed()) return;
      const end = this.st.chunkEnd.get(lo, CHUNK_ROWS) as number | undefined;
      const hi = end === undefined ? target : Math.min(target, Math.max(end, lo + 1));
      this.db.transaction(() => this.st.compactChunk.run({ lo, hi, c: target }))();
      lo = hi;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (this.closed()) return;
    this.st.setMeta.run("compacted_through", target);
  }
}
