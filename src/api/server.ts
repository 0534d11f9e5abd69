import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Membership } from "../cluster/membership.js";
import type { ClusterObserver } from "../cluster/prober.js";
import type { AddressInfo, Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Store } from "../store/index.js";
import { authenticate } from "./auth.js";
import { AuditLog } from "../audit/log.js";
import { AppService } from "../apps/service.js";
import type { ReleaseHook } from "../build/release-hook.js";
import type { BuildSettings } from "../build/builder.js";
import type { RegistryHandle } from "../build/docker-build.js";
import type Docker from "dockerode";
import { GitOpsService } from "../gitops/service.js";
import { lazyEngineSyncer, syncDeadlineFromEnv } from "../gitops/lazy-engine.js";
import { Ctx } from "./context.js";
import { HttpError } from "../errors.js";
import { errorBody } from "./errors.js";
import { ApiMetrics } from "./metrics.js";
import { Router } from "./router.js";
import { TokenRegistry } from "./tokens.js";
import { registerRoutes } from "./routes/index.js";
import { markStaleReads } from "./stale.js";
import { UiSessions } from "./ui-sessions.js";
import { UiFiles, defaultUiDist } from "./ui-static.js";

export type Handler = (ctx: Ctx) => Promise<void> | void;

export interface RouteDef {
  method: "GET" | "PUT" | "POST" | "DELETE";
  path: string;
  summary: string;
  /** Answer without a token (/v1/health, /metrics, the dashboard's files and its login). */
  public?: boolean;
  handler: Handler;
}

/** What route handlers may use: the Store and the server's shared services. */
export interface ApiDeps {
  store: Store;
  tokens: TokenRegistry;
  audit: AuditLog;
  serverId: string;
  metrics: ApiMetrics;
  /** Aborted when the server stops: long polls and watch streams end. */
  closing: AbortSignal;
  /** The server's data directory (artifacts, secret.key…); absent for store-only test servers. */
  dataDir?: string;
  /**
   * The apps service (src/apps/service.ts), which createApiServer always attaches. The build
   * route needs only its ReleaseHook (`releaseFromBuild`), so a build test may put a fake hook
   * here; the apps routes then answer 503.
   */
  apps?: ReleaseHook & Partial<AppService>;
  /** Apps answer at `http://<app>.<appDomain>:<routerPort>/` (defaults: localhost, 8080). */
  appDomain: string;
  routerPort: number;
  /** The API's public base URL for git remotes; default: the Host the client used. */
  publicUrl?: string;
  /** Build limits (defaults in src/build/builder.ts): source size, install time limit… */
  build?: Partial<BuildSettings>;
  /** The Docker engine for Dockerfile builds and image deploys (default: the local engine). */
  docker?: Docker;
  /** Gantry's image registry (src/registry), when this server runs one. */
  registry?: RegistryHandle;
  /** Whether this server leads the controllers (set by startServer; /v1/health shows it). */
  controllers?: { isLeader(): boolean };
  /** GitOps for the stack: the stack repo's syncs, connect, webhook (createApiServer attaches it). */
  stack?: GitOpsService;
  /** What this server's prober sees of the etcd members (src/cluster/prober.ts; startServer sets it). */
  serverProber?: ClusterObserver;
  /** Artifacts this server lacks, fetched from the other servers (src/server/artifact-peers.ts). */
  artifactPeers?: { fetch(sha: string): Promise<boolean> };
  /**
   * The Gantry-managed etcd cluster this server is a member of (startServer sets it when the
   * server runs its own etcd; absent on the embedded store and on `--store etcd://`): the server
   * join route (`POST /v1/cluster/join`) adds members through it.
   */
  cluster?: { membership: Membership };
  /** Dashboard sessions and login links (src/api/ui-sessions.ts). */
  uiSessions: UiSessions;
  /** The built dashboard served at /ui (src/api/ui-static.ts). */
  uiFiles: UiFiles;
}

export interface ApiServerOptions {
  store: Store;
  /** The data directory: artifacts, logs, repos and the config key live under it. */
  dataDir?: string;
  /** The router's domain for app host names (default "localhost"). */
  appDomain?: string;
  /** The router's port, for app URLs (default 8080). */
  routerPort?: number;
  /** The API's public base URL for git remotes (default: from the request's Host). */
  publicUrl?: string;
  /** Log a line about unexpected errors (defaults to stderr). */
  log?: (line: string) => void;
  /** Serve HTTPS with this certificate and key (PEM); default plain HTTP. */
  tls?: { cert: string; key: string };
  /** The built dashboard served at /ui (default: the package's web/dist). */
  uiDist?: string;
}

export interface ApiServer {
  deps: ApiDeps;
  server: Server;
  routes: RouteDef[];
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/**
 * Requests the HTTP parser refuses before any handler runs (headers over 16 KB, malformed
 * framing) get the same JSON error body as the rest of the API; node's default is a bare status.
 */
function answerClientError(
  err: Error & { code?: string; rawPacket?: Buffer },
  socket: Socket,
): void {
  const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, string, string] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "too_large", "the request line and headers are larger than 16 KB"]
      : err.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW"
        ? [413, "too_large", "the chunk extensions are too large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "timeout", "the request took too long to arrive"]
          : [400, "invalid_argument", "the request is not valid HTTP"];
  const payload = JSON.stringify({ error: { code, message } });
  // A HEAD answer must not have a body: send one only when the failed packet starts with a
  // request line that is not HEAD (it usually does; when the head came in pieces, it may not).
  const start = err.rawPacket?.subarray(0, 12).toString("latin1") ?? "";
  const withBody = /^(GET|PUT|POST|DELETE|PATCH|OPTIONS) [/*h]/.test(start);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${withBody ? Buffer.byteLength(payload) : 0}\r\nConnection: close\r\n\r\n${withBody ? payload : ""}`,
  );
}

/** The request target as a URL: `//x/y` is a path here, where WHATWG parsing would make `x` a host. */
function requestUrl(target: string): URL {
  // URL parsing would silently resolve `a/../b` to `b`: a KV key or app name must never change
  // under the caller's feet, so dot segments are refused instead.
  const path = target.split("?")[0]!;
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path)) {
    throw new HttpError(
      400,
      "invalid_argument",
      'the path must not contain "." or ".." segments',
      "path",
    );
  }
  try {
    return target.startsWith("/")
      ? new URL(`http://gantry.invalid${target}`)
      : new URL(target, "http://gantry.invalid");
  } catch {
    throw new HttpError(400, "invalid_argument", "the request target is not a valid URL");
  }
}

/**
 * The data directory for the apps service; a store-only server (tests) gets a temporary one,
 * made on first use.
 */
function lazyDataDir(dataDir: string | undefined): () => string {
  let dir = dataDir;
  return () => (dir ??= mkdtempSync(join(tmpdir(), "gantry-api-data-")));
}

/** The API as this process reaches it (loopback when it listens on every address). */
function selfUrl(server: Server, tls: boolean): string {
  const a = server.address();
  if (a === null || typeof a === "string") throw new Error("the API server is not listening");
  const host = ["0.0.0.0", "::"].includes(a.address) ? "127.0.0.1" : a.address;
  return `${tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}

/** Build the API server over a Store (not yet listening). */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const closing = new AbortController();
  const tokens = new TokenRegistry(opts.store);
  await tokens.start();
  const serverId = randomBytes(4).toString("hex");
  const audit = new AuditLog(serverId);
  const deps: ApiDeps = {
    store: opts.store,
    tokens,
    audit,
    serverId,
    metrics: new ApiMetrics(),
    closing: closing.signal,
    ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
    appDomain: opts.appDomain ?? "localhost",
    routerPort: opts.routerPort ?? 8080,
    ...(opts.publicUrl === undefined ? {} : { publicUrl: opts.publicUrl.replace(/\/+$/, "") }),
    uiSessions: new UiSessions(opts.store, tokens, audit),
    uiFiles: new UiFiles(opts.uiDist ?? defaultUiDist()),
  };
  deps.apps = new AppService({
    store: opts.store,
    audit: deps.audit,
    dataDir: lazyDataDir(opts.dataDir),
    appDomain: deps.appDomain,
    routerPort: deps.routerPort,
    log,
  });
  deps.stack = new GitOpsService({
    store: opts.store,
    dataDir: lazyDataDir(opts.dataDir),
    audit: deps.audit,
    syncer: lazyEngineSyncer(),
    deadlineMs: syncDeadlineFromEnv(),
    selfUrl: () => selfUrl(server, opts.tls !== undefined),
    log,
  });
  const routes = registerRoutes(deps);
  const router = new Router<RouteDef>();
  for (const r of routes) router.add(r.method, r.path, r);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    let route = "unmatched";
    let ctx: Ctx | undefined;
    markStaleReads(req.method ?? "GET", res, deps.store);
    try {
      const url = requestUrl(req.url ?? "/");
      ctx = new Ctx(req, res, url);
      const m = router.match(req.method ?? "GET", url.pathname);
      if (m === undefined) throw new HttpError(404, "not_found", `no route for ${url.pathname}`);
      if (m === "method")
        throw new HttpError(
          405,
          "method_not_allowed",
          `${req.method} is not allowed on ${url.pathname}`,
        );
      route = m.handler.path;
      ctx.params = m.params;
      // A bearer token (the CLI, curl) as before; a browser's dashboard session by its cookie.
      if (!m.handler.public)
        ctx.principal =
          req.headers.authorization === undefined && req.headers.cookie !== undefined
            ? await deps.uiSessions.authenticate(req, res)
            : authenticate(req, tokens, res);
      await m.handler.handler(ctx);
    } catch (err) {
      const { status, body } = errorBody(err);
      if (
        status >= 500 &&
        !(err instanceof HttpError) &&
        !["unavailable", "no_quorum"].includes((err as { code?: string }).code ?? "")
      ) {
        log(
          `api: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
        );
      }
      if (!res.headersSent) {
        const payload = JSON.stringify(body);
        res.writeHead(status, {
          "content-type": "application/json; charset=utf-8",
          "content-length": Buffer.byteLength(payload),
        });
        res.end(payload);
      } else {
        res.destroy();
      }
      // Drain an unread body so the connection can be reused (bounded: we stop reading on error).
      req.resume();
    } finally {
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      const labels = { method: req.method ?? "GET", route };
      deps.metrics.requests.inc({ ...labels, status: String(res.statusCode) });
      deps.metrics.latency.observe(labels, secs);
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => void handle(req, res);
  const server: Server =
    opts.tls === undefined
      ? createServer({ keepAliveTimeout: 65_000 }, onRequest)
      : createHttpsServer({ ...opts.tls, keepAliveTimeout: 65_000 }, onRequest);
  server.on("clientError", answerClientError);
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  return {
    deps,
    server,
    routes,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: async () => {
      closing.abort();
      await deps.stack?.stop();
      await tokens.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 1000).unref();
      });
    },
  };
}
