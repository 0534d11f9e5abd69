import type { Socket } from "node:net";
import { errorResponse } from "./pages.js";

/**
 * Timeouts and caps on the router's client side. The defaults follow nginx's where nginx has one
 * (docs/router.md, Hardening, compares them); tests pass short ones.
 */
export interface EdgeLimits {
  /** A kept-alive connection with no request begun closes after this (nginx keepalive_timeout 75s). */
  idleMs: number;
  /** A request head must be complete this long after the connection opened or its first byte came (nginx client_header_timeout 60s). */
  headMs: number;
  /** A request body that stalls this long between two reads is cut (nginx client_body_timeout 60s). */
  bodyMs: number;
  /** Open connections per client address; one more is answered 429 and closed; 0: no cap (nginx: none unless limit_conn is set). */
  maxPerClient: number;
  /** After the router closed its side, how long the client has to close its own (nginx lingering_timeout 5s). */
  lingerMs: number;
}

export const DEFAULT_LIMITS: Readonly<EdgeLimits> = {
  idleMs: 75_000,
  headMs: 60_000,
  bodyMs: 60_000,
  maxPerClient: 256,
  lingerMs: 5_000,
};

/** The defaults with `partial` over them. */
export function edgeLimits(partial: Partial<EdgeLimits> = {}): EdgeLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}

/** How often deadlines are checked: a quarter of the shortest, between 10 ms and 1 s. */
export function sweepIntervalMs(l: EdgeLimits): number {
  const shortest = Math.min(l.idleMs, l.headMs, l.bodyMs, l.lingerMs);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 4)));
}

/** Open connections per client address, against a cap. */
export class ClientCounter {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Count one more connection from `ip`; false (and not counted) when that is over the cap. */
  add(ip: string): boolean {
    const n = this.open.get(ip) ?? 0;
    if (this.max > 0 && n >= this.max) return false;
    this.open.set(ip, n + 1);
    return true;
  }

  remove(ip: string): void {
    const n = this.open.get(ip) ?? 0;
    if (n <= 1) this.open.delete(ip);
    else this.open.set(ip, n - 1);
  }

  /** Connections open from `ip`. */
  count(ip: string): number {
    return this.open.get(ip) ?? 0;
  }
}

/**
 * Answer a connection over the per-address cap: 429 and close, reading (and dropping) whatever it
 * sends until it closes too or `lingerMs` passes.
 */
export function refuseBusy(socket: Socket, ip: string, requestId: string, lingerMs: number): void {
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.on("error", () => undefined);
  socket.on("data", () => undefined);
  socket.on("end", () => socket.destroy());
  socket.on("close", () => clearTimeout(timer));
  socket.end(
    errorResponse({
      status: 429,
      message: `too many connections from ${ip}`,
      hint: "Close some connections, or reuse them (keep-alive).",
      requestId,
      html: false,
      close: true,
    }),
  );
  if (socket.isPaused()) socket.resume();
}
