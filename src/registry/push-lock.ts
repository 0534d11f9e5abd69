/**
 * Pushes share, garbage collection excludes: a GC waits for the pushes in flight and holds new
 * ones back until it is done (a GC that ran mid-push could delete the blobs the push just wrote
 * before its manifest links them). Gantry's builder and bake take `shared` around their pushes;
 * pushes from outside (`docker push`) are seen by their upload folders instead (see gc.ts).
 */
export class PushLock {
  private pushes = 0;
  private gc: Promise<void> | undefined;
  private idle: (() => void)[] = [];

  /** Run a push; waits while a GC runs. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gc !== undefined) await this.gc;
    this.pushes++;
    try {
      return await fn();
    } finally {
      this.pushes--;
      if (this.pushes === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Run a GC alone: after the pushes in flight, before any new one. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.gc !== undefined) await this.gc;
    let done!: () => void;
    this.gc = new Promise<void>((resolve) => (done = resolve));
    try {
      if (this.pushes > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return await fn();
    } finally {
      this.gc = undefined;
      done();
    }
  }

  /** Pushes in flight now. */
  get inFlight(): number {
    return this.pushes;
  }
}
