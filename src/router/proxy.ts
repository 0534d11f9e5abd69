import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { cachedLookup, type ChallengeLookup } from "./acme-challenge.js";
import { ClientConn } from "./client-conn.js";
import {
  ClientCounter,
  edgeLimits,
  refuseBusy,
  sweepIntervalMs,
  type EdgeLimits,
} from "./limits.js";
import type { RouteSnapshot } from "./source.js";
import { RouteTable } from "./table.js";
import { UpstreamPool, type Backend } from "./upstream.js";

/** How the router treats the app instances it forwards to (docs/ha.md, "Failover"). */
export interface UpstreamTuning {
  /**
   * An instance that has not taken the connection within this long counts as refused: the
   * request (never sent) goes to another instance (ms; default 500).
   */
  connectTimeoutMs: number;
  /** How long an instance that refused a connection is skipped (ms; default 2000). */
  downMs: number;
}

export const DEFAULT_UPSTREAM: Readonly<UpstreamTuning> = { connectTimeoutMs: 500, downMs: 2000 };

export interface ProxyOptions extends Partial<UpstreamTuning> {
  domain: string;
  log: (line: string) => void;
  /** Client-side timeouts and the per-address cap (defaults: DEFAULT_LIMITS). */
  limits?: Partial<EdgeLimits>;
  /** ACME HTTP-01 key authorizations by token, answered on plain HTTP before any routing. */
  challenges?: ChallengeLookup;
}

/**
 * The proxy core: accepts client sockets, routes each request by Host and forwards it over pooled
 * keep-alive connections. One instance per process (each router worker has its own).
 */
export class Proxy {
  table: RouteTable<Backend>;
  readonly pool: UpstreamPool;
  readonly domain: string;
  readonly log: (line: string) => void;
  readonly limits: EdgeLimits;
  readonly downMs: number;
  readonly challenges: ChallengeLookup | undefined;
  private readonly clients = new Set<ClientConn>();
  private readonly perClient: ClientCounter;
  /** A coarse clock (ms) for idle timeouts: cheaper than a timer per socket touched per read. */
  clock = Date.now();
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly idPrefix = randomBytes(6).toString("hex") + "-";
  private idCounter = 0;

  constructor(opts: ProxyOptions) {
    this.domain = opts.domain.toLowerCase();
    this.log = opts.log;
    this.limits = edgeLimits(opts.limits);
    this.perClient = new ClientCounter(this.limits.maxPerClient);
    this.downMs = opts.downMs ?? DEFAULT_UPSTREAM.downMs;
    this.challenges = opts.challenges === undefined ? undefined : cachedLookup(opts.challenges);
    this.pool = new UpstreamPool({
      maxIdle: 256,
      idleMs: 4000,
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_UPSTREAM.connectTimeoutMs,
    });
    this.table = this.build({ apps: [] });
    this.ticker = setInterval(() => this.tick(), sweepIntervalMs(this.limits));
    this.ticker.unref();
  }

  private tick(): void {
    this.clock = Date.now();
    for (const c of this.clients) c.sweep(this.clock);
  }

  /** Swap in a new table; connections to instances that left it close once idle. */
  setRoutes(snapshot: RouteSnapshot): void {
    this.table = this.build(snapshot);
  }

  private build(snapshot: RouteSnapshot): RouteTable<Backend> {
    const live = new Set<Backend>();
    const table = new RouteTable(snapshot, this.domain, (inst) => {
      const b = this.pool.backend(inst.address, inst.port);
      live.add(b);
      return b;
    });
    this.pool.retainOnly(live);
    return table;
  }

  /** Serve a client connection. */
  handle(socket: Socket): void {
    const ip = clientAddress(socket);
    if (!this.perClient.add(ip)) {
      refuseBusy(socket, ip, this.nextRequestId(), this.limits.lingerMs);
      return;
    }
    const conn = new ClientConn(this, socket, ip);
    this.clients.add(conn);
    socket.once("close", () => {
      this.clients.delete(conn);
      this.perClient.remove(ip);
    });
  }

  nextRequestId(): string {
    return this.idPrefix + (this.idCounter++).toString(36);
  }

  get connections(): number {
    return this.clients.size;
  }

  /** Drop every connection, client and upstream. */
  close(): void {
    clearInterval(this.ticker);
    for (const c of this.clients) c.socket.destroy();
    this.clients.clear();
    this.pool.close();
  }
}

/** The client's address, IPv4-mapped IPv6 as plain IPv4. */
function clientAddress(socket: Socket): string {
  const ip = socket.remoteAddress ?? "unknown";
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}
