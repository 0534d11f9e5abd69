import { caFiles } from "../../tls/ca.js";
import { spawn } from "node:child_process";
import { DEFAULT_BUILD_SETTINGS } from "../../build/builder.js";
import { createAppRepo, reposDir } from "../../build/repo.js";
import { AppNameSchema } from "../../model/app.js";
import { K } from "../../model/keys.js";
import { allows } from "../../model/token.js";
import type { Principal } from "../../model/principal.js";
import { authenticate } from "../auth.js";
import { reviewPipeline } from "../review-apps.js";
import type { Ctx } from "../context.js";
import type { ApiDeps, RouteDef } from "../server.js";

/**
 * git's smart-HTTP protocol per app, served by git's own `git http-backend` as a CGI program:
 * fetch and clone need `app:<app>:read`, push `app:<app>:deploy` (or write). The token is the HTTP
 * password; 401s carry `WWW-Authenticate` so git asks for (or sends) credentials. A push runs
 * the repository's pre-receive hook (src/build/hook.ts), which builds and deploys main/master
 * through the API with the pusher's token, handed to it in the CGI environment.
 */
export function gitRoutes(deps: ApiDeps): RouteDef[] {
  const pushes = new KeyedQueue();
  const handler = (ctx: Ctx): Promise<void> => serveGit(deps, pushes, ctx);
  const summary =
    "git smart-HTTP for an app's repository (clone, fetch, push); Basic auth with the token as password";
  // Public: the route authenticates itself, to answer git's way (plain text + WWW-Authenticate).
  return [
    { method: "GET", path: "/git/:repo/*rest", summary, public: true, handler },
    { method: "POST", path: "/git/:repo/*rest", summary, public: true, handler },
  ];
}

async function serveGit(deps: ApiDeps, pushes: KeyedQueue, ctx: Ctx): Promise<void> {
  const repo = /^(.*)\.git$/.exec(ctx.params["repo"] ?? "")?.[1];
  const rest = ctx.params["rest"] ?? "";
  const name = AppNameSchema.safeParse(repo);
  if (!name.success) {
    return answer(ctx, 404, "not an app repository: use /git/<app>.git");
  }
  const app = name.data;
  // Which git service: a push is `git-receive-pack` (its ref advertisement, then the pack).
  const service = ctx.method === "GET" && rest === "info/refs" ? ctx.query.get("service") : rest;
  const push = service === "git-receive-pack";
  const who = gitPrincipal(deps, ctx);
  if (who === undefined) return;
  if (!allows(who.policies, "app", app, push ? "deploy" : "read")) {
    return answer(ctx, 403, `this token may not ${push ? "push to" : "read"} app "${app}"`);
  }
  if ((await deps.store.get(`${K.apps}${app}`)) === undefined) {
    return answer(ctx, 404, `no app named "${app}" (create it with: gantry apps:create ${app})`);
  }
  if (deps.dataDir === undefined) {
    return answer(ctx, 503, "this server has no data directory: git is not available");
  }
  const limit = deps.build?.maxPushBytes ?? DEFAULT_BUILD_SETTINGS.maxPushBytes;
  const declared = Number(ctx.req.headers["content-length"] ?? "0");
  if (declared > limit) return answer(ctx, 413, pushTooLarge(limit));
  await createAppRepo(deps.dataDir, app);
  const env = cgiEnv(deps.dataDir, ctx, app, rest, who, push, limit);
  // Branches other than main become review apps when the app's pipeline has them on.
  if (push) env["GANTRY_REVIEWS"] = (await reviewPipeline(deps, app)) === undefined ? "0" : "1";
  // One push per app at a time (the pack and the hook's build + deploy): a second one waits,
  // and its hook then sees that main moved under it instead of deploying a stale commit.
  if (push && ctx.method === "POST")
    await pushes.run(app, async () => {
      await runBackend(ctx, env, limit).finally(() => settle(deps, app));
    });
  else await runBackend(ctx, env, limit);
}

/**
 * After a push, whichever way it ended: a release of it that is still on its way or serves
 * while git did not move the ref (the hook died, the pusher went away) is abandoned
 * (docs/apps.md, "An interrupted push"). Inside the push queue, so no other push of the app on
 * this server is under way.
 */
async function settle(deps: ApiDeps, app: string): Promise<void> {
  try {
    await deps.apps?.settlePushes?.(app);
  } catch (err) {
    // The next start of the server settles it (src/apps/push-recovery.ts).
    const why = err instanceof Error ? err.message : String(err);
    process.stderr.write(`git: ${app}: could not check how the push ended: ${why}\n`);
  }
}

/** The request's principal; undefined once a 401 is answered (git then asks for credentials). */
export function gitPrincipal(deps: ApiDeps, ctx: Ctx): Principal | undefined {
  try {
    const who = authenticate(ctx.req, deps.tokens);
    ctx.principal = who;
    return who;
  } catch (err) {
    answer(ctx, 401, (err as Error).message, { "www-authenticate": 'Basic realm="gantry"' });
    return undefined;
  }
}

/** Runs tasks one at a time per key, in arrival order. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run(key: string, task: () => Promise<void>): Promise<void> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const mine = prev.then(task, task);
    const tail = mine.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      await mine;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** The CGI environment of `git http-backend` for one request on `<app>.git`. */
export function cgiEnv(
  dataDir: string,
  ctx: Ctx,
  app: string,
  rest: string,
  who: Principal,
  push: boolean,
  limit: number,
): NodeJS.ProcessEnv {
  const h = ctx.req.headers;
  const raw = ctx.req.url ?? "";
  const q = raw.indexOf("?");
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? dataDir,
    GIT_PROJECT_ROOT: reposDir(dataDir),
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: "HTTP/1.1",
    REQUEST_METHOD: ctx.method,
    PATH_INFO: `/${app}.git/${rest}`,
    QUERY_STRING: q < 0 ? "" : raw.slice(q + 1),
    CONTENT_TYPE: h["content-type"] ?? "",
    REMOTE_USER: who.name,
    REMOTE_ADDR: ctx.req.socket.remoteAddress ?? "",
    // Backstop for chunked pushes: receive-pack itself refuses a pack over the limit.
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "receive.maxInputSize",
    GIT_CONFIG_VALUE_0: String(limit),
  };
  if (h["content-length"] !== undefined) env["CONTENT_LENGTH"] = h["content-length"];
  // http-backend inflates gzip bodies itself when told the encoding.
  if (typeof h["content-encoding"] === "string")
    env["HTTP_CONTENT_ENCODING"] = h["content-encoding"];
  if (typeof h["git-protocol"] === "string") env["HTTP_GIT_PROTOCOL"] = h["git-protocol"];
  if (push) {
    env["GANTRY_APP"] = app;
    env["GANTRY_HOOK_URL"] = selfUrl(ctx);
    // Over HTTPS the hook calls back through the cluster CA's certificate.
    if (isTls(ctx)) env["NODE_EXTRA_CA_CERTS"] = caFiles(dataDir).cert;
    env["GANTRY_HOOK_TOKEN"] = tokenSecret(ctx);
  }
  return env;
}

/** Run `git http-backend`: the request body to its stdin, its CGI answer back to the client. */
const KILL_MARGIN = 1024 * 1024;

export async function runBackend(ctx: Ctx, env: NodeJS.ProcessEnv, limit: number): Promise<void> {
  const { req, res } = ctx;
  const child = spawn("git", ["http-backend"], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
    // Its own process group: receive-pack and the hook are killed with it.
    detached: true,
  });
  let exited = false;
  const closed = new Promise<number | null>((resolve) => {
    child.once("close", (code) => {
      exited = true;
      resolve(code);
    });
    child.once("error", () => {
      exited = true;
      resolve(null);
    });
  });
  const killGroup = (): void => {
    if (exited || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone already
    }
  };
  let tooLarge = false;
  res.once("close", () => {
    if (!res.writableFinished) killGroup();
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    if (stderr.length < 8192) stderr += c.toString();
  });
  child.stdin.on("error", () => undefined); // it may exit before reading everything
  // A body without Content-Length (git sends large pushes chunked) is counted as it comes.
  // receive-pack refuses a pack over the limit itself (receive.maxInputSize) and says so to the
  // pusher; past a margin over it, the backend is killed and the connection dropped.
  let received = 0;
  req.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit + KILL_MARGIN && !tooLarge) {
      tooLarge = true;
      req.unpipe(child.stdin);
      killGroup();
    }
  });
  req.pipe(child.stdin);

  let head = Buffer.alloc(0);
  let headerDone = false;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    if (res.destroyed) break;
    if (headerDone) {
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
      continue;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHead(head);
    if (parsed === undefined) {
      if (head.length > 64 * 1024) {
        killGroup(); // not CGI output we understand; stop it rather than leave it blocked
        break;
      }
      continue;
    }
    headerDone = true;
    res.writeHead(parsed.status, parsed.headers);
    if (parsed.body.length > 0) res.write(parsed.body);
  }
  const code = await closed;
  if (res.destroyed) return;
  if (tooLarge && res.headersSent) {
    res.destroy();
    return;
  }
  if (!headerDone) {
    if (tooLarge) return answer(ctx, 413, pushTooLarge(limit), { connection: "close" });
    const why = stderr.trim().split("\n").pop() ?? "";
    return answer(ctx, 500, `git http-backend failed (exit ${code})${why ? `: ${why}` : ""}`);
  }
  res.end();
}

/** The CGI response head (`Status:` and headers up to a blank line), once complete. */
export function parseCgiHead(
  buf: Buffer,
): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  let end = buf.indexOf("\r\n\r\n");
  let sep = 4;
  const lf = buf.indexOf("\n\n");
  if (lf >= 0 && (end < 0 || lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end < 0) return undefined;
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of buf.subarray(0, end).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, body: buf.subarray(end + sep) };
}

/** Errors as plain text: git shows a text/plain body to the user as `remote: …`. */
export function answer(
  ctx: Ctx,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(message + "\n");
  ctx.res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": body.length,
    ...headers,
  });
  ctx.res.end(body);
  // Do not wait for a body we will not read.
  ctx.req.resume();
}

const pushTooLarge = (limit: number): string =>
  `the push is larger than ${limit} bytes (the limit)`;

/** This API server as its own client reaches it: the address the request came in on. */
function selfUrl(ctx: Ctx): string {
  const s = ctx.req.socket;
  let host = (s.localAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  // The API's certificate names its listen address and loopback, not every interface's.
  const listen = (s as { server?: { address(): unknown } }).server?.address() as
    | { address?: string }
    | undefined;
  if (isTls(ctx) && ["0.0.0.0", "::"].includes(listen?.address ?? "")) host = "127.0.0.1";
  if (host.includes(":")) host = `[${host}]`;
  return `${isTls(ctx) ? "https" : "http"}://${host}:${s.localPort}`;
}

const isTls = (ctx: Ctx): boolean => (ctx.req.socket as { encrypted?: boolean }).encrypted === true;

/** The token secret the request authenticated with (Basic password or Bearer). */
function tokenSecret(ctx: Ctx): string {
  const header = ctx.req.headers.authorization ?? "";
  if (header.startsWith("Bearer ")) return header.slice(7).trim();
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  return decoded.slice(decoded.indexOf(":") + 1);
}
