import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzip as gzipCb } from "node:zlib";
import { HttpError, notFound } from "../errors.js";
import type { Ctx } from "./context.js";

const gzip = promisify(gzipCb);

/** Headers on every dashboard answer (the login code travels in a URL: no Referer). */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};
const COMPRESSIBLE = new Set([
  ".html",
  ".js",
  ".mjs",
  ".css",
  ".json",
  ".map",
  ".svg",
  ".txt",
  ".webmanifest",
]);

interface Asset {
  type: string;
  body: Buffer;
  /** Present when smaller than the body. */
  gz?: Buffer;
  cache: string;
}

/** The directory holding package.json above `from` (this module's own package by default). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Where the built dashboard is by default: the package's web/dist. */
export const defaultUiDist = (): string => join(packageRoot(), "web", "dist");

/**
 * The built dashboard (web/dist), served at /ui: read whole into memory and gzipped once, at the
 * first request (so servers that nobody opens the dashboard on pay nothing). Requests are answered
 * from that map only, never from the file system, so no path can reach outside it. Hashed assets
 * (assets/) are immutable; any other path is the single-page app's index.html.
 */
export class UiFiles {
  private files: Promise<Map<string, Asset>> | undefined;

  constructor(readonly dir: string) {}

  async serve(ctx: Ctx, path: string): Promise<void> {
    let name: string;
    try {
      name = decodeURIComponent(path);
    } catch {
      throw new HttpError(
        400,
        "invalid_argument",
        "the path is not valid percent-encoding",
        "path",
      );
    }
    if (/[\\\0]/.test(name) || name.split("/").some((s) => s === "." || s === ".."))
      throw new HttpError(
        400,
        "invalid_argument",
        'the path must not contain "." or ".." segments, backslashes or NUL',
        "path",
      );
    const files = await this.load();
    let asset = name === "" ? undefined : files.get(name);
    if (asset === undefined) {
      // A missing hashed asset is an old page asking for it: HTML would only confuse it.
      if (name.startsWith("assets/")) throw notFound(`dashboard file "${name}"`);
      asset = files.get("index.html")!;
    }
    const gz = asset.gz !== undefined && acceptsGzip(ctx.req.headers["accept-encoding"]);
    const body = gz ? asset.gz! : asset.body;
    ctx.res.writeHead(200, {
      ...UI_SECURITY_HEADERS,
      "content-type": asset.type,
      "content-length": body.length,
      "cache-control": asset.cache,
      ...(asset.gz === undefined ? {} : { vary: "accept-encoding" }),
      ...(gz ? { "content-encoding": "gzip" } : {}),
    });
    ctx.res.end(body);
  }

  private load(): Promise<Map<string, Asset>> {
    if (this.files === undefined) {
      if (!existsSync(join(this.dir, "index.html")))
        return Promise.reject(
          new HttpError(
            503,
            "ui_not_built",
            `the dashboard is not built (no ${join(this.dir, "index.html")}): run npm run build in Gantry's directory`,
          ),
        );
      const loading = readAll(this.dir);
      this.files = loading;
      // A failed read is tried again at the next request.
      loading.catch(() => (this.files = undefined));
    }
    return this.files;
  }
}

async function readAll(dir: string): Promise<Map<string, Asset>> {
  const files = new Map<string, Asset>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    const name = relative(dir, full).split(sep).join("/");
    const ext = extname(name).toLowerCase();
    const body = await readFile(full);
    const gz =
      COMPRESSIBLE.has(ext) && body.length >= 256 ? await gzip(body, { level: 9 }) : undefined;
    files.set(name, {
      type: TYPES[ext] ?? "application/octet-stream",
      body,
      ...(gz !== undefined && gz.length < body.length ? { gz } : {}),
      cache: name.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
  }
  if (!files.has("index.html")) throw new HttpError(503, "ui_not_built", `no index.html in ${dir}`);
  return files;
}

/** Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
