import { createServer } from "node:net";
import { GantryError } from "../../errors.js";
import type { PortAllocator } from "./port-allocator.js";
import { portWasTaken } from "./port-moves.js";
import { formatRange } from "./port-range.js";

/** Every port of the agent's range is held by its instances or in use by other programs. */
export class NoFreePortError extends GantryError {
  constructor(message: string) {
    super("no_free_port", message, { status: 503 });
  }
}

/** Whether `port` can be bound on `host` now (listen, then close at once). */
function canListen(port: number, host: string): Promise<boolean | "no-family"> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) =>
      resolve(err.code === "EAFNOSUPPORT" || err.code === "EADDRNOTAVAIL" ? "no-family" : false),
    );
    srv.listen({ port, host }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Whether `port` is free on every address: the wildcard (`::`, dual-stack; `0.0.0.0` where there
 * is no IPv6) conflicts with whoever holds the port on any address, so an app may bind it on its
 * instance address or on all of them, as most do.
 */
export async function bindable(port: number): Promise<boolean> {
  const v6 = await canListen(port, "::");
  return v6 === "no-family" ? (await canListen(port, "0.0.0.0")) === true : v6;
}

/** How long a port found held is given to be let go (a stopped group's last members exiting). */
const RECHECK_MS = 100;

/**
 * The agent's instance ports: the allocator's next port that is bindable now. Ports other
 * programs hold are skipped and go to the back of the line.
 */
export class PortPool {
  constructor(
    readonly allocator: PortAllocator,
    private readonly probe: (port: number) => Promise<boolean> = bindable,
  ) {}

  /** A port for `holder`, checked bindable; NoFreePortError when there is none. */
  async take(holder: string): Promise<number> {
    const inUse: number[] = [];
    try {
      for (let left = this.allocator.freeCount; left > 0; left--) {
        const port = this.allocator.take(holder);
        if (port === undefined) break;
        if (await this.probe(port)) return port;
        this.allocator.release(port, holder);
        inUse.push(port);
      }
    } finally {
      this.allocator.requeue(inUse);
    }
    throw new NoFreePortError(
      `no free port in ${formatRange(this.allocator.range)} for instances: the agent's instances hold some, other programs the rest (${inUse.length} found in use); widen --port-range`,
    );
  }

  hold(port: number, holder: string): boolean {
    return this.allocator.hold(port, holder);
  }

  release(port: number, holder: string): void {
    this.allocator.release(port, holder);
  }

  /**
   * After `holder`'s process exited: when its port was taken by another program (port-moves.ts),
   * a new port for it (the old one goes back); undefined when it was not, or there is none.
   */
  async moveIfTaken(
    holder: string,
    exit: { port: number; uptimeMs: number; lastLines: readonly string[]; movesInARow: number },
  ): Promise<number | undefined> {
    const heldByOther = await this.heldByOther(exit.port);
    if (!portWasTaken({ ...exit, heldByOther })) return undefined;
    const to = await this.take(holder).catch(() => undefined);
    if (to !== undefined) this.release(exit.port, holder);
    return to;
  }

  /**
   * Whether another program holds `port` (its holder's process has exited): looked at twice,
   * RECHECK_MS apart, so the last members of a stopping process group are not taken for one.
   */
  async heldByOther(port: number): Promise<boolean> {
    if (await this.probe(port)) return false;
    await new Promise((r) => setTimeout(r, RECHECK_MS));
    return !(await this.probe(port));
  }
}
