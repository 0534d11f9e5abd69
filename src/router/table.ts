import { covers, hstsLine, httpsBase } from "./https-redirect.js";
import type { RouteInstance, RouteSnapshot } from "./source.js";

/** Where requests for one app go; `next` is its round-robin position. */
export interface Route<B> {
  app: string;
  backends: readonly B[];
  next: number;
  /** Some host of the app redirects plain HTTP to HTTPS (see RouteTable.redirect). */
  redirect: boolean;
  /** The HSTS header line its HTTPS answers get, or null. */
  hsts: string | null;
}

/** Why a host has no route (the 404 page says it). */
export type Miss = { kind: "no-app"; app: string } | { kind: "no-host"; host: string };

/** What the table needs of a backend to skip one that refused a connection moments ago. */
export interface Pickable {
  downUntil: number;
}

const CACHE_LIMIT = 4096;

/**
 * The routing table: Host → app → backends. Immutable once built (a new snapshot builds a new
 * table); only the round-robin positions move. `<app>.<domain>` wins over a custom domain that
 * names the same host, and of two apps claiming one custom domain the first by name wins.
 */
export class RouteTable<B extends Pickable> {
  private readonly hosts = new Map<string, Route<B>>();
  private readonly apps = new Map<string, Route<B>>();
  /** Raw Host values seen → route (null: none), so the hot path skips normalizing. */
  private readonly cache = new Map<string, Route<B> | null>();
  /** Host → `https://host[:port]` for hosts that redirect; raw Host values cached as above. */
  private readonly redirects = new Map<string, string>();
  private readonly redirectCache = new Map<string, string | null>();
  private readonly suffix: string;

  constructor(
    snapshot: RouteSnapshot,
    readonly domain: string,
    backend: (inst: RouteInstance) => B,
  ) {
    this.suffix = "." + domain.toLowerCase();
    const apps = [...snapshot.apps].sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    const redirecting = new Set<Route<B>>();
    for (const app of apps) {
      const route: Route<B> = {
        app: app.name,
        backends: app.instances.map(backend),
        next: 0,
        redirect: false,
        hsts: hstsLine(app.hsts),
      };
      this.apps.set(app.name, route);
      this.hosts.set(app.name + this.suffix, route);
      if (app.httpsRedirect === true) redirecting.add(route);
    }
    for (const app of apps)
      for (const d of app.domains) {
        const host = normalizeHost(d);
        if (!this.hosts.has(host)) this.hosts.set(host, this.apps.get(app.name)!);
      }
    // Decided here, once per table: only to a name with a certificate (else the site breaks).
    const edge = snapshot.https;
    if (edge !== undefined && redirecting.size > 0) {
      const names = new Set(edge.names.map((n) => n.toLowerCase()));
      for (const [host, route] of this.hosts)
        if (redirecting.has(route) && covers(names, host)) {
          this.redirects.set(host, httpsBase(host, edge.port));
          route.redirect = true;
        }
    }
  }

  /** The route for a Host header value (any case, with or without a port), if there is one. */
  route(rawHost: string): Route<B> | undefined {
    const hit = this.cache.get(rawHost);
    if (hit !== undefined) return hit ?? undefined;
    const route = this.hosts.get(normalizeHost(rawHost));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(rawHost, route ?? null);
    return route;
  }

  /** `https://host[:port]` when plain-HTTP requests for `rawHost` are redirected there. */
  redirect(rawHost: string): string | undefined {
    const hit = this.redirectCache.get(rawHost);
    if (hit !== undefined) return hit ?? undefined;
    const base = this.redirects.get(normalizeHost(rawHost));
    if (this.redirectCache.size >= CACHE_LIMIT) this.redirectCache.clear();
    this.redirectCache.set(rawHost, base ?? null);
    return base;
  }

  /** Why `rawHost` has no route: an unknown app under the domain, or a host that is not ours. */
  miss(rawHost: string): Miss {
    const host = normalizeHost(rawHost);
    if (host.endsWith(this.suffix)) {
      const label = host.slice(0, -this.suffix.length);
      if (label !== "" && !label.includes(".")) return { kind: "no-app", app: label };
    }
    return { kind: "no-host", host };
  }

  /** Every app with its backends (for status output and tests). */
  routes(): Route<B>[] {
    return [...this.apps.values()];
  }
}

/**
 * The next backend of a route in round-robin order that is not in `failed` (tried already by
 * this request) and not down; when every usable one is down, the next one not failed.
 */
export function pickBackend<B extends Pickable>(
  route: Route<B>,
  failed: ReadonlySet<B> | null,
  now: number,
): B | undefined {
  const list = route.backends;
  const n = list.length;
  if (n === 0) return undefined;
  if (route.next >= 0x3fffffff) route.next = 0;
  let fallback: B | undefined;
  for (let i = 0; i < n; i++) {
    const b = list[route.next++ % n]!;
    if (failed !== null && failed.has(b)) continue;
    if (b.downUntil <= now) return b;
    fallback ??= b;
  }
  return fallback;
}

/** Lower-case, without the port and a trailing dot: `Hello.LocalHost:8080` → `hello.localhost`. */
export function normalizeHost(raw: string): string {
  let host = raw.trim().toLowerCase();
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf("]");
    host = close < 0 ? host : host.slice(0, close + 1);
  } else {
    const colon = host.indexOf(":");
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host;
}

/** The router's domain (`--domain`): a lower-case host name; one label, like localhost, is fine. */
export const ROUTER_DOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
