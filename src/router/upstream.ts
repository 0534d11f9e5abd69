import { connect, type Socket } from "node:net";
import type { Pickable } from "./table.js";

/** Where every upstream connection of this process reads into (see UpstreamConn). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Who an upstream connection reports to while it carries an exchange. */
export interface UpstreamOwner {
  /** `chunk` is only valid during the call: copy what must outlive it. */
  onUpstreamData(up: UpstreamConn, chunk: Buffer): void;
  /** The connection ended or failed (`err` when it failed). Called at most once per exchange. */
  onUpstreamGone(up: UpstreamConn, err: Error | undefined): void;
  onUpstreamDrain(up: UpstreamConn): void;
}

/** One app instance (address:port) and its idle keep-alive connections. */
export class Backend implements Pickable {
  /** Refused a connection: skipped by round-robin until then (ms since the epoch). */
  downUntil = 0;
  /** No longer in the table: its connections close instead of going back to the pool. */
  retired = false;
  /** Idle connections, most recently used last. */
  readonly idle: UpstreamConn[] = [];

  constructor(
    readonly address: string,
    readonly port: number,
  ) {}

  get key(): string {
    return `${this.address}:${this.port}`;
  }
}

/** A TCP connection to a backend; its socket listeners are attached once for its whole life. */
export class UpstreamConn {
  owner: UpstreamOwner | null = null;
  connected = false;
  /** It carried a whole exchange before: a failure without an answer may be the keep-alive race. */
  reused = false;
  idleSince = 0;
  closed = false;
  readonly socket: Socket;
  private error: Error | undefined;

  constructor(
    readonly backend: Backend,
    private readonly pool: UpstreamPool,
    connectTimeoutMs: number,
  ) {
    // `onread` hands each read to us directly (no Readable stream machinery per chunk), in one
    // buffer shared by every upstream connection: owners must copy whatever they keep.
    const socket = connect({
      host: backend.address,
      port: backend.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number) => {
          const owner = this.owner;
          if (owner !== null) owner.onUpstreamData(this, READ_BUFFER.subarray(0, n));
          else socket.destroy(); // bytes nobody asked for: the connection is out of step
          return true;
        },
      },
    });
    this.socket = socket;
    socket.setTimeout(connectTimeoutMs);
    socket.once("connect", () => {
      this.connected = true;
      socket.setTimeout(0);
    });
    socket.on("timeout", () => {
      if (!this.connected) {
        const err = new Error(`connect to ${backend.key} timed out`) as NodeJS.ErrnoException;
        err.code = "ETIMEDOUT";
        socket.destroy(err);
      }
    });
    socket.on("drain", () => this.owner?.onUpstreamDrain(this));
    socket.on("error", (err) => {
      this.error = err;
    });
    socket.on("end", () => this.gone());
    socket.on("close", () => {
      this.closed = true;
      this.pool.forget(this);
      this.gone();
    });
  }

  private gone(): void {
    const owner = this.owner;
    if (owner === null) {
      if (!this.closed) this.socket.destroy();
      return;
    }
    this.owner = null;
    owner.onUpstreamGone(this, this.error);
  }
}

export interface PoolOptions {
  /** Idle connections kept per backend. */
  maxIdle: number;
  /** An idle connection older than this is closed (below Node's 5 s keepAliveTimeout). */
  idleMs: number;
  connectTimeoutMs: number;
}

/**
 * Backends by address:port and their keep-alive connections. A backend outlives table updates
 * while it stays in the table, so its warm connections are kept.
 */
export class UpstreamPool {
  private readonly backends = new Map<string, Backend>();
  private readonly all = new Set<UpstreamConn>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly opts: PoolOptions) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), Math.max(250, opts.idleMs / 2));
    this.sweeper.unref();
  }

  backend(address: string, port: number): Backend {
    const key = `${address}:${port}`;
    let b = this.backends.get(key);
    if (b === undefined) {
      b = new Backend(address, port);
      this.backends.set(key, b);
    }
    return b;
  }

  /** Forget backends that are no longer in the table and close their idle connections. */
  retainOnly(live: ReadonlySet<Backend>): void {
    for (const [key, b] of this.backends) {
      if (live.has(b)) continue;
      b.retired = true;
      this.backends.delete(key);
      for (const up of b.idle.splice(0)) up.socket.destroy();
    }
  }

  /** A connection to `b`: the most recently used idle one that is still fresh, or a new one. */
  acquire(b: Backend, now: number, fresh: boolean): UpstreamConn {
    if (!fresh) {
      let up: UpstreamConn | undefined;
      while ((up = b.idle.pop()) !== undefined) {
        if (!up.closed && now - up.idleSince < this.opts.idleMs) return up;
        up.socket.destroy();
      }
    }
    const up = new UpstreamConn(b, this, this.opts.connectTimeoutMs);
    this.all.add(up);
    return up;
  }

  /** An exchange ended cleanly: keep the connection for the next one. */
  release(up: UpstreamConn, now: number): void {
    up.owner = null;
    const b = up.backend;
    if (up.closed || b.retired || b.idle.length >= this.opts.maxIdle) {
      up.socket.destroy();
      return;
    }
    if (up.socket.isPaused()) up.socket.resume();
    up.reused = true;
    up.idleSince = now;
    b.idle.push(up);
  }

  /** Called by a connection that closed. */
  forget(up: UpstreamConn): void {
    this.all.delete(up);
    const idle = up.backend.idle;
    const i = idle.indexOf(up);
    if (i >= 0) idle.splice(i, 1);
  }

  sweep(now: number): void {
    for (const b of this.backends.values()) {
      // Oldest first: stop at the first one still fresh.
      while (b.idle.length > 0 && now - b.idle[0]!.idleSince >= this.opts.idleMs)
        b.idle.shift()!.socket.destroy();
    }
  }

  /** Connections open now (idle or busy). */
  get size(): number {
    return this.all.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const up of this.all) {
      up.owner = null;
      up.socket.destroy();
    }
    this.all.clear();
    for (const b of this.backends.values()) b.idle.length = 0;
  }
}
