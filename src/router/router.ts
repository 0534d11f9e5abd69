import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { ChallengeLookup } from "./acme-challenge.js";
import { startHttpsListener, type HttpsListener, type HttpsListenOptions } from "./https.js";
import type { EdgeLimits } from "./limits.js";
import { Proxy, type UpstreamTuning } from "./proxy.js";
import type { RouteSnapshot, RouteSource } from "./source.js";
import { RouterWorkers } from "./workers.js";

export interface RouterOptions {
  listen: { host: string; port: number };
  /** Apps are served at `<app>.<domain>` (default "localhost"). */
  domain?: string;
  source: RouteSource;
  log?: (line: string) => void;
  /**
   * Worker processes that serve the connections (the primary only accepts and hands them out);
   * 0, the default, serves in this process.
   */
  workers?: number;
  /** Client-side timeouts and the per-address cap (defaults: DEFAULT_LIMITS, docs/router.md). */
  limits?: Partial<EdgeLimits>;
  /** ACME HTTP-01 key authorizations by token, answered on HTTP before routing (acme-challenge.ts). */
  challenges?: ChallengeLookup;
  /** Also serve HTTPS (SNI picks the certificate); served in this process, by the same routes. */
  https?: HttpsListenOptions;
  /** Connect timeout to instances and how long one that refused is skipped (DEFAULT_UPSTREAM). */
  upstream?: Partial<UpstreamTuning>;
}

export interface RunningRouter {
  address: AddressInfo;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  /** The HTTPS listener, when asked for one. */
  https?: HttpsListener;
  domain: string;
  /** The table as last delivered by the source. */
  snapshot(): RouteSnapshot;
  close(): Promise<void>;
}

/**
 * Start the router: a reverse proxy from `Host: <app>.<domain>` (and custom domains) to the
 * passing instances of each app, following `source`. Needs no token: it is the public edge.
 */
export async function startRouter(opts: RouterOptions): Promise<RunningRouter> {
  const domain = (opts.domain ?? "localhost").toLowerCase();
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const limits = opts.limits ?? {};
  const challenges = opts.challenges;
  const upstream = opts.upstream ?? {};
  const proxy = new Proxy({
    domain,
    log,
    limits,
    ...upstream,
    ...(challenges ? { challenges } : {}),
  });
  const workers =
    (opts.workers ?? 0) > 0
      ? new RouterWorkers(opts.workers!, domain, log, limits, challenges, upstream)
      : null;
  let current: RouteSnapshot = { apps: [] };
  // Redirects to HTTPS need the HTTPS port and the names with a certificate: both join the table.
  let httpsPort = 0;
  let names: string[] = [];
  const deliver = (): void => {
    const snapshot: RouteSnapshot =
      httpsPort > 0 ? { ...current, https: { port: httpsPort, names } } : current;
    proxy.setRoutes(snapshot);
    workers?.setRoutes(snapshot);
  };
  const unwatch = opts.source.watch((snapshot) => {
    current = snapshot;
    deliver();
  });
  const httpsOpts: HttpsListenOptions | undefined =
    opts.https === undefined
      ? undefined
      : {
          ...opts.https,
          onNames: (next) => {
            opts.https?.onNames?.(next);
            if (next.join("\n") === names.join("\n")) return;
            names = next;
            if (httpsPort > 0) deliver();
          },
        };

  const serveHere = (socket: Socket): void => {
    socket.allowHalfOpen = true;
    proxy.handle(socket);
    if (socket.isPaused()) socket.resume();
  };
  const server = createServer(
    { allowHalfOpen: true, pauseOnConnect: workers !== null },
    (socket) => {
      if (workers === null || !workers.dispatch(socket, serveHere)) serveHere(socket);
    },
  );
  let https: HttpsListener | undefined;
  try {
    await workers?.start();
    await listen(server, opts.listen.host, opts.listen.port);
    if (httpsOpts !== undefined) {
      https = await startHttpsListener(httpsOpts, serveHere, log);
      httpsPort = https.address.port;
      deliver();
    }
  } catch (err) {
    server.close();
    unwatch();
    proxy.close();
    await workers?.close();
    throw err;
  }
  server.on("error", (err) => log(`router: ${err.message}`));
  const address = server.address() as AddressInfo;
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return {
    address,
    url: `http://${host}:${address.port}`,
    ...(https === undefined ? {} : { https }),
    domain,
    snapshot: () => current,
    close: async () => {
      unwatch();
      const httpsClosed = https?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      proxy.close();
      await workers?.close();
      await closed;
      await httpsClosed;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
