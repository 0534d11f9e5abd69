/**
 * A git host on loopback for tests of connected repos (apps:connect): bare repositories under a
 * directory, served over git's smart HTTP by `git http-backend` run as CGI with argv and env
 * (as src/api/routes/git.ts serves app repos). Read-only: tests push into the bare repos with
 * git on disk, then tell Gantry by a signed webhook (or let its poll find the commit).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseCgiHead } from "../../src/api/routes/git.js";

export interface GitHttpHost {
  /** `http://127.0.0.1:<port>/<name>.git` for a repo `<root>/<name>.git`. */
  url(name: string): string;
  /** Requests served (for checking the poll reached it). */
  requests(): number;
  close(): Promise<void>;
}

export async function startGitHttpHost(root: string): Promise<GitHttpHost> {
  let served = 0;
  const server: Server = createServer((req, res) => {
    served++;
    const raw = req.url ?? "/";
    const q = raw.indexOf("?");
    const path = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
    // Only the fetch side of smart HTTP: the ref advertisement and upload-pack.
    if (!/^\/[A-Za-z0-9._-]+\.git\/(info\/refs|git-upload-pack)$/.test(path)) {
      res.writeHead(404).end("not found\n");
      req.resume();
      return;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: root,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: path,
      QUERY_STRING: q < 0 ? "" : raw.slice(q + 1),
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      REMOTE_ADDR: req.socket.remoteAddress ?? "",
    };
    if (req.headers["content-length"] !== undefined)
      env["CONTENT_LENGTH"] = req.headers["content-length"];
    if (typeof req.headers["content-encoding"] === "string")
      env["HTTP_CONTENT_ENCODING"] = req.headers["content-encoding"];
    if (typeof req.headers["git-protocol"] === "string")
      env["HTTP_GIT_PROTOCOL"] = req.headers["git-protocol"];
    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.on("error", () => undefined);
    child.stderr.resume();
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const parsed = parseCgiHead(head);
      if (parsed === undefined) return;
      started = true;
      res.writeHead(parsed.status, parsed.headers);
      if (parsed.body.length > 0) res.write(parsed.body);
    });
    child.on("close", () => {
      if (!started) res.writeHead(500).end("git http-backend failed\n");
      else res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}.git`,
    requests: () => served,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
