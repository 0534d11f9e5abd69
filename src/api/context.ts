import type { IncomingMessage, ServerResponse } from "node:http";
import type { ZodType } from "zod";
import { ValidationError, HttpError } from "../errors.js";
import { parseWith } from "../validate.js";
import type { Params } from "./router.js";
import type { Principal } from "../model/principal.js";

/** Largest request body accepted anywhere (KV values are further limited by the Store). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** One request as a handler sees it. */
export class Ctx {
  readonly query: URLSearchParams;
  readonly path: string;
  params: Params = {};
  principal: Principal | undefined;
  /** Set by handlers that change something: recorded in the audit log. */
  audit: { action: string; target: string } | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    url: URL,
  ) {
    this.query = url.searchParams;
    this.path = url.pathname;
  }

  get method(): string {
    return this.req.method ?? "GET";
  }

  /** The authenticated caller; routes behind auth always have one. */
  get who(): Principal {
    if (this.principal === undefined)
      throw new HttpError(401, "unauthorized", "a valid token is required");
    return this.principal;
  }

  /** The raw body, refusing more than `limit` bytes with 413. */
  async body(limit = MAX_BODY_BYTES): Promise<Buffer> {
    const declared = Number(this.req.headers["content-length"] ?? "0");
    if (declared > limit) throw tooLarge(limit);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of this.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  }

  /** The body as JSON checked against a schema; bad JSON and bad fields are 400s naming the field. */
  async json<T>(schema: ZodType<T>): Promise<T> {
    const raw = await this.body();
    let data: unknown;
    try {
      data = JSON.parse(raw.length === 0 ? "null" : raw.toString("utf8"));
    } catch {
      throw new ValidationError("the request body is not valid JSON", "body");
    }
    return parseWith(schema, data);
  }

  /** Refuse query parameters the route does not know (typos should not be silently ignored). */
  allowQuery(...names: string[]): void {
    for (const key of this.query.keys()) {
      if (!names.includes(key)) throw new ValidationError(`unknown query parameter "${key}"`, key);
    }
  }

  /** A non-negative integer query parameter, or `fallback` when absent. */
  int(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
    const raw = this.query.get(name);
    if (raw === null || raw === "") return fallback;
    if (!/^\d{1,16}$/.test(raw) || Number(raw) > max) {
      throw new ValidationError(`${name} must be a whole number between 0 and ${max}`, name);
    }
    return Number(raw);
  }

  /** A boolean flag: present (`?recurse`, `?recurse=true`) or absent. */
  flag(name: string): boolean {
    const raw = this.query.get(name);
    if (raw === null) return false;
    if (raw === "" || raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new ValidationError(`${name} must be true or false`, name);
  }

  send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    const payload = JSON.stringify(body);
    this.res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(payload),
      ...headers,
    });
    this.res.end(payload);
  }

  sendRaw(
    status: number,
    body: Uint8Array,
    contentType = "application/octet-stream",
    headers: Record<string, string> = {},
  ): void {
    this.res.writeHead(status, {
      "content-type": contentType,
      "content-length": body.length,
      ...headers,
    });
    this.res.end(body);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, "too_large", `the request body is larger than ${limit} bytes`, "body");
}
