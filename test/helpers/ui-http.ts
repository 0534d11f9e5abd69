/**
 * HTTP as the dashboard's login tests need it: calls with a session cookie, csrf or bearer token
 * (redirects not followed), the session cookie of an answer, and raw GETs whose request target is
 * sent as written (fetch would resolve dot segments and undo gzip).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApi, type TestApi } from "./api.js";

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

export interface CallOptions {
  cookie?: string;
  csrf?: string;
  bearer?: string;
  body?: unknown;
  base?: string;
}

/** Calls against one server (`base` in the options goes to another). */
export function uiHttp(url: () => string) {
  async function call(
    method: string,
    path: string,
    opts: CallOptions = {},
  ): Promise<Answer & { json: () => Record<string, unknown> }> {
    const headers: Record<string, string> = {};
    if (opts.cookie !== undefined) headers["cookie"] = `theme=dark; gantry_session=${opts.cookie}`;
    if (opts.csrf !== undefined) headers["x-gantry-csrf"] = opts.csrf;
    if (opts.bearer !== undefined) headers["authorization"] = `Bearer ${opts.bearer}`;
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch((opts.base ?? url()) + path, {
      method,
      headers,
      redirect: "manual",
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const body = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body,
      json: () => JSON.parse(body) as Record<string, unknown>,
    };
  }

  /** GET a raw request target (fetch would resolve dot segments before sending). */
  function rawGet(target: string): Promise<Answer> {
    const u = new URL(url());
    return new Promise((resolve, reject) => {
      const req = request(
        { host: u.hostname, port: u.port, path: target, method: "GET" },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: new Headers(res.headers as Record<string, string>),
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  /** GET with headers, the body as raw bytes (fetch would undo the gzip). */
  function rawGetWith(
    target: string,
    headers: Record<string, string>,
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }> {
    const u = new URL(url());
    return new Promise((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: target, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      });
      req.on("error", reject);
      req.end();
    });
  }
  return { call, rawGet, rawGetWith };
}

/** The session cookie's value in a Set-Cookie answer. */
export const cookieOf = (a: Answer): string | undefined => {
  const c = a.headers.getSetCookie().find((h) => h.startsWith("gantry_session="));
  return c === undefined ? undefined : c.slice("gantry_session=".length).split(";")[0];
};

export const INDEX = "<!doctype html><title>Gantry</title><div id=root></div>";
export const ASSET = `export const x = ${JSON.stringify("gantry ".repeat(200))};\n`;

/**
 * A dashboard build of its own in a temp dir (index, one hashed asset, a favicon; and a
 * `secret.txt` beside dist/ that traversal must never reach), and an API server serving it.
 */
export async function uiTestServer(): Promise<{ t: TestApi; dir: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-ui-auth-"));
  mkdirSync(join(dir, "dist", "assets"), { recursive: true });
  writeFileSync(join(dir, "dist", "index.html"), INDEX);
  writeFileSync(join(dir, "dist", "assets", "index-abc123.js"), ASSET);
  writeFileSync(join(dir, "dist", "favicon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "TOPSECRET");
  const t = await startTestApi({ uiDist: join(dir, "dist") });
  return {
    t,
    dir,
    close: async () => {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
