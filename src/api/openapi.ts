import type { RouteDef } from "./server.js";

/** A path pattern's parameters: `:name` is one segment, `*name` the rest of the path. */
export interface PathParam {
  name: string;
  rest: boolean;
}

/** `/v1/kv/*key` → `/v1/kv/{key}`, `/v1/tokens/:id` → `/v1/tokens/{id}`, with the parameters. */
export function openApiPath(pattern: string): { path: string; params: PathParam[] } {
  const params: PathParam[] = [];
  const path = pattern
    .split("/")
    .map((seg) => {
      if (!seg.startsWith(":") && !seg.startsWith("*")) return seg;
      params.push({ name: seg.slice(1), rest: seg.startsWith("*") });
      return `{${seg.slice(1)}}`;
    })
    .join("/");
  return { path, params };
}

/** `GET /v1/catalog/service/:name` → `getV1CatalogServiceName`. */
function operationId(method: string, pattern: string): string {
  const words = pattern.split(/[^A-Za-z0-9]+/).filter((w) => w !== "");
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/** The first segment after the version: `kv`, `tokens`, `catalog` … (`metrics` for /metrics). */
function tag(pattern: string): string {
  const segs = pattern.split("/").filter((s) => s !== "");
  return (segs[0] === "v1" ? segs[1] : segs[0]) ?? "api";
}

const errorRef = { $ref: "#/components/responses/Error" };

type Json = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of a route list: every route with its summary and path parameters,
 * bearer auth on every route that is not public, and the one error shape all 4xx/5xx share.
 * Routes declare no request or response schemas yet, so bodies are described in docs/api.md.
 */
export function buildOpenApi(
  routes: readonly RouteDef[],
  info: { title?: string; version?: string } = {},
): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const r of routes) {
    const { path, params } = openApiPath(r.path);
    const responses: Json = {
      "2XX": { description: "Success" },
      "400": errorRef,
      ...(r.public ? {} : { "401": errorRef, "403": errorRef }),
      "404": errorRef,
      "4XX": errorRef,
      "5XX": errorRef,
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = {
      operationId: operationId(r.method, r.path),
      summary: r.summary,
      tags: [tag(r.path)],
      security: r.public ? [] : [{ bearer: [] }],
      ...(params.length === 0
        ? {}
        : {
            parameters: params.map((p) => ({
              name: p.name,
              in: "path",
              required: true,
              schema: { type: "string" },
              description: p.rest
                ? "The rest of the path: may contain `/` (send other reserved characters percent-encoded)"
                : "One path segment, percent-encoded",
            })),
          }),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Gantry API",
      version: info.version ?? "v1",
      description:
        "Gantry's control plane: key/value, transactions, watches, service catalog, sessions and " +
        "locks, tokens and audit. Every route but health and metrics takes `Authorization: " +
        "Bearer <token>`. See docs/api.md.",
    },
    servers: [{ url: "http://127.0.0.1:7700", description: "gantry up (default address)" }],
    tags: [...new Set(routes.map((r) => tag(r.path)))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "A Gantry token secret (gty_…). Missing or unknown: 401; without the right: 403.",
        },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: {
                  type: "string",
                  description:
                    "Stable machine code: unauthorized, forbidden, not_found, invalid_argument, too_large, cas_failed, conflict, method_not_allowed, compacted, unavailable, …",
                },
                message: { type: "string", description: "One line for people" },
                field: { type: "string", description: "The input the error is about, if any" },
              },
            },
          },
        },
      },
      responses: {
        Error: {
          description: 'An error: `{"error":{"code","message","field"?}}`',
          content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
        },
      },
    },
  };
}
