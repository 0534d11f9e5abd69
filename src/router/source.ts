/** Where the router's table comes from: a RouteSource delivers whole snapshots of it. */

/** One instance of an app's web service that passes its checks. */
export interface RouteInstance {
  address: string;
  port: number;
}

export interface AppRoute {
  /** The app name: served at `<name>.<domain>`. */
  name: string;
  /** Custom domains routed to it as well. */
  domains: string[];
  /** Passing instances (empty: the router answers 503). */
  instances: RouteInstance[];
  /** Plain-HTTP requests get a 308 to HTTPS (for host names the router has a certificate for). */
  httpsRedirect?: boolean;
  /** HTTPS answers carry `Strict-Transport-Security: max-age=<hsts>` (absent or 0: none). */
  hsts?: number;
}

/** The router's HTTPS side, as the HTTP side needs it for redirects. */
export interface HttpsEdge {
  /** The port the HTTPS listener took (left out of redirects when 443). */
  port: number;
  /** Names the router has a certificate for: exact, or `*.example.com` for one label. */
  names: string[];
}

export interface RouteSnapshot {
  apps: AppRoute[];
  /** Set by the router itself when it serves HTTPS (a RouteSource leaves it out). */
  https?: HttpsEdge;
}

/**
 * Feeds the router: `watch` calls `onUpdate` with the whole table, first when it is known and
 * then on every change; the returned function stops it.
 */
export interface RouteSource {
  watch(onUpdate: (snapshot: RouteSnapshot) => void): () => void;
}

/** A table held in memory and changed by `set`: for tests, the bench and router workers. */
export class StaticRouteSource implements RouteSource {
  private readonly listeners = new Set<(s: RouteSnapshot) => void>();

  constructor(private snapshot: RouteSnapshot = { apps: [] }) {}

  watch(onUpdate: (snapshot: RouteSnapshot) => void): () => void {
    this.listeners.add(onUpdate);
    onUpdate(this.snapshot);
    return () => this.listeners.delete(onUpdate);
  }

  set(snapshot: RouteSnapshot): void {
    this.snapshot = snapshot;
    for (const l of this.listeners) l(snapshot);
  }

  get current(): RouteSnapshot {
    return this.snapshot;
  }
}
