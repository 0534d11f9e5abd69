import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import type { Store } from "../store/index.js";
import { authenticate } from "./auth.js";
import { AuditLog } from "./audit.js";
import { Ctx } from "./context.js";
import { errorBody, HttpError } from "./errors.js";
import { ApiMetrics } from "./metrics.js";
import { Router } from "./router.js";
import { TokenRegistry } from "./tokens.js";
import { registerRoutes } from "./routes/index.js";

export type Handler = (ctx: Ctx) => Promise<void> | void;

export interface RouteDef {
  method: "GET" | "PUT" | "POST" | "DELETE";
  path: string;
  summary: string;
  /** Answer without a token (only /v1/health and /metrics). */
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
}

export interface ApiServerOptions {
  store: Store;
  /** Log a line about unexpected errors (defaults to stderr). */
  log?: (line: string) => void;
}

export interface ApiServer {
  deps: ApiDeps;
  server: Server;
  routes: RouteDef[];
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/** Build the API server over a Store (not yet listening). */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const closing = new AbortController();
  const tokens = new TokenRegistry(opts.store);
  await tokens.start();
  const serverId = randomBytes(4).toString("hex");
  const deps: ApiDeps = {
    store: opts.store,
    tokens,
    audit: new AuditLog(serverId),
    serverId,
    metrics: new ApiMetrics(),
    closing: closing.signal,
  };
  const routes = registerRoutes(deps);
  const router = new Router<RouteDef>();
  for (const r of routes) router.add(r.method, r.path, r);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = process.hrtime.bigint();
    let route = "unmatched";
    let ctx: Ctx | undefined;
    try {
      const url = new URL(req.url ?? "/", "http://gantry.invalid");
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
      if (!m.handler.public) ctx.principal = authenticate(req, tokens);
      await m.handler.handler(ctx);
    } catch (err) {
      const { status, body } = errorBody(err);
      if (
        status >= 500 &&
        !(err instanceof HttpError) &&
        (err as { code?: string }).code !== "unavailable"
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

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handle(req, res));
  const sockets = new Set<import("node:net").Socket>();
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
