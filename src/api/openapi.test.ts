import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { Store } from "../store/types.js";
import { buildOpenApi, openApiPath } from "./openapi.js";
import { createApiServer, type ApiServer, type RouteDef } from "./server.js";
import { newSecret } from "./tokens.js";

interface Operation {
  operationId: string;
  summary: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  responses: Record<string, unknown>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

const noop = (): void => undefined;

describe("openApiPath", () => {
  it("turns :segment and *rest parameters into {templates}", () => {
    expect(openApiPath("/v1/kv/*key")).toEqual({
      path: "/v1/kv/{key}",
      params: [{ name: "key", rest: true }],
    });
    expect(openApiPath("/v1/catalog/deregister/:service/:id")).toEqual({
      path: "/v1/catalog/deregister/{service}/{id}",
      params: [
        { name: "service", rest: false },
        { name: "id", rest: false },
      ],
    });
    expect(openApiPath("/v1/health")).toEqual({ path: "/v1/health", params: [] });
  });
});

describe("buildOpenApi", () => {
  const routes: RouteDef[] = [
    { method: "GET", path: "/v1/health", summary: "Health", public: true, handler: noop },
    { method: "GET", path: "/v1/kv/*key", summary: "Read", handler: noop },
    { method: "PUT", path: "/v1/kv/*key", summary: "Write", handler: noop },
  ];
  const doc = buildOpenApi(routes) as unknown as Doc;

  it("puts methods of one path under one path item, with their summaries", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(["/v1/health", "/v1/kv/{key}"]);
    expect(Object.keys(doc.paths["/v1/kv/{key}"]!)).toEqual(["get", "put"]);
    expect(doc.paths["/v1/kv/{key}"]!["put"]!.summary).toBe("Write");
  });

  it("asks for the bearer token everywhere but on public routes", () => {
    expect(doc.components.securitySchemes["bearer"]).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    expect(doc.paths["/v1/health"]!["get"]!.security).toEqual([]);
    expect(doc.paths["/v1/kv/{key}"]!["get"]!.security).toEqual([{ bearer: [] }]);
    expect(doc.paths["/v1/kv/{key}"]!["get"]!.responses["401"]).toBeDefined();
    expect(doc.paths["/v1/health"]!["get"]!.responses["401"]).toBeUndefined();
  });

  it("declares each path parameter as required", () => {
    expect(doc.paths["/v1/kv/{key}"]!["get"]!.parameters).toMatchObject([
      { name: "key", in: "path", required: true },
    ]);
  });
});

describe("GET /v1/openapi.json", () => {
  let dir: string;
  let store: Store;
  let api: ApiServer;
  let url: string;
  const token = newSecret();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "gantry-openapi-"));
    store = await openSqliteStore({ dir, durability: "process" });
    api = await createApiServer({ store, log: noop });
    await api.deps.tokens.create("openapi-test", [{ admin: true }], "test", token);
    const addr = await api.listen("127.0.0.1", 0);
    url = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await api?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("describes every route the server has, itself included", async () => {
    const res = await fetch(`${url}/v1/openapi.json`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const doc = (await res.json()) as Doc;
    const listed = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const expected = api.routes.map((r) => `${r.method} ${openApiPath(r.path).path}`);
    expect(listed.sort()).toEqual([...expected].sort());
    expect(expected).toContain("GET /v1/openapi.json");
    expect(expected).toContain("PUT /v1/kv/{key}");

    const ops = Object.values(doc.paths).flatMap((item) => Object.values(item));
    const ids = ops.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of api.routes) {
      const op = doc.paths[openApiPath(r.path).path]![r.method.toLowerCase()]!;
      expect([r.path, op.summary]).toEqual([r.path, r.summary]);
      expect([r.path, op.security]).toEqual([r.path, r.public ? [] : [{ bearer: [] }]]);
    }
  });

  it("needs a token like every other non-public route", async () => {
    const res = await fetch(`${url}/v1/openapi.json`);
    expect(res.status).toBe(401);
  });
});
