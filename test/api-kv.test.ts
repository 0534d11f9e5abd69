import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const raw = (path: string, init: RequestInit = {}, token?: string): Promise<Response> =>
  fetch(t.url + path, {
    ...init,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(init.headers ?? {}),
    },
  });

describe("auth", () => {
  it("answers health without a token and everything else only with one", async () => {
    const health = await raw("/v1/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", store: "sqlite" });
    const missing = await raw("/v1/kv/a");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: { code: "unauthorized", message: expect.any(String) },
    });
    const unknown = await raw("/v1/kv/a", {}, "gty_not-a-real-token");
    expect(unknown.status).toBe(401);
  });

  it("refuses a token without the right with 403, and filters recursive reads", async () => {
    await t.admin.kvPut("team-a/x", "1");
    await t.admin.kvPut("team-b/y", "2");
    const a = await t.clientWith([{ resource: "kv", prefix: "team-a/", access: "write" }]);
    expect(await a.kvPut("team-a/z", "3")).toBeGreaterThan(0);
    const denied = await errorOf(a.kvPut("team-b/z", "3"));
    expect(denied.status).toBe(403);
    expect(denied.code).toBe("forbidden");
    const list = (await a.kvList("team-")) as { key: string }[];
    expect(list.map((e) => e.key)).toEqual(["team-a/x", "team-a/z"]);
    const reader = await t.clientWith([{ resource: "kv", prefix: "", access: "read" }]);
    expect((await reader.kvGet("team-b/y"))?.version).toBe(1);
    expect((await errorOf(reader.kvDelete("team-b/y"))).status).toBe(403);
    expect((await errorOf(reader.tokensList())).status).toBe(403);
  });

  it("stops accepting a revoked token", async () => {
    const c = await t.clientWith([{ resource: "kv", prefix: "", access: "read" }], "short-lived");
    await c.kvGet("anything");
    await t.admin.tokensRevoke("short-lived");
    expect((await errorOf(c.kvGet("anything"))).status).toBe(401);
  });

  it("never shows secrets or hashes when listing tokens", async () => {
    const list = await t.admin.tokensList();
    expect(list.length).toBeGreaterThan(0);
    expect(JSON.stringify(list)).not.toMatch(/gty_|secretHash/);
  });
});

describe("kv", () => {
  it("writes and reads bytes, raw and as JSON, with revisions", async () => {
    const rev = await t.admin.kvPut("app/config/port", "8080");
    const e = await t.admin.kvGet("app/config/port");
    expect(e).toMatchObject({
      key: "app/config/port",
      modRevision: rev,
      createRevision: rev,
      version: 1,
    });
    expect(Buffer.from(e!.value, "base64").toString()).toBe("8080");
    const r = await raw("/v1/kv/app/config/port?raw", {}, t.adminToken);
    expect(await r.text()).toBe("8080");
    expect(Number(r.headers.get("x-gantry-index"))).toBeGreaterThanOrEqual(rev);
    expect(await t.admin.kvGet("app/missing")).toBeUndefined();
  });

  it("compare-and-swaps with ?cas (0 = create only) and names the conflict", async () => {
    const first = await t.admin.kvPut("cas/k", "a", { cas: 0 });
    const again = await errorOf(t.admin.kvPut("cas/k", "b", { cas: 0 }));
    expect(again.status).toBe(409);
    expect(again.code).toBe("cas_failed");
    const second = await t.admin.kvPut("cas/k", "b", { cas: first });
    expect(second).toBe(first + 1);
    expect((await errorOf(t.admin.kvDelete("cas/k", { cas: first }))).code).toBe("cas_failed");
    await t.admin.kvDelete("cas/k", { cas: second });
    expect(await t.admin.kvGet("cas/k")).toBeUndefined();
  });

  it("lists and deletes prefixes", async () => {
    for (const k of ["p/a", "p/b", "p/c/d", "q"]) await t.admin.kvPut(k, k);
    expect(await t.admin.kvList("p/", { keysOnly: true })).toEqual(["p/a", "p/b", "p/c/d"]);
    await t.admin.kvDelete("p/", { recurse: true });
    expect(await t.admin.kvList("p/")).toEqual([]);
    expect(await t.admin.kvGet("q")).toBeDefined();
  });

  it("runs a transaction atomically", async () => {
    const res = await t.admin.json<{ succeeded: boolean; results: { type: string }[] }>(
      "POST",
      "/v1/txn",
      {
        body: {
          compare: [{ key: "txn/guard", target: "version", op: "==", value: 0 }],
          success: [
            { type: "put", key: "txn/a", value: "1" },
            { type: "put", key: "txn/b", valueBase64: Buffer.from("2").toString("base64") },
            { type: "get", key: "txn/", recurse: true },
          ],
        },
      },
    );
    expect(res.succeeded).toBe(true);
    expect(res.results.map((r) => r.type)).toEqual(["put", "put", "get"]);
    expect(await t.admin.kvList("txn/", { keysOnly: true })).toEqual(["txn/a", "txn/b"]);
  });

  it("blocks a read until the key changes after the given index", async () => {
    const rev = await t.admin.kvPut("block/k", "v1");
    const started = Date.now();
    const waiting = t.admin.request("GET", "/v1/kv/block/k", {
      query: { index: rev, wait: "10s" },
    });
    setTimeout(() => void t.admin.kvPut("block/k", "v2"), 200);
    const res = await waiting;
    const body = (await res.json()) as { value: string };
    expect(Buffer.from(body.value, "base64").toString()).toBe("v2");
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    // An index already passed answers at once; a wait with no change returns after the wait.
    const quick = Date.now();
    await t.admin.request("GET", "/v1/kv/block/k", { query: { index: rev, wait: "10s" } });
    expect(Date.now() - quick).toBeLessThan(1000);
    const idle = Date.now();
    await t.admin.request("GET", "/v1/kv/block/k", { query: { index: rev + 1000, wait: "300ms" } });
    expect(Date.now() - idle).toBeGreaterThanOrEqual(250);
  });

  it("streams changes over SSE and resumes from the last revision without loss", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    const consumer = (async () => {
      for await (const batch of t.admin.kvWatch("sse/", {
        recurse: true,
        signal: abort.signal,
        onReady: () => ready(),
      })) {
        for (const e of batch.events) seen.push(`${e.type}:${e.key}`);
        if (seen.length >= 3) abort.abort();
      }
    })();
    await isReady;
    await t.admin.kvPut("sse/a", "1");
    await t.admin.kvPut("elsewhere", "x");
    await t.admin.kvPut("sse/b", "2");
    await t.admin.kvDelete("sse/a");
    await consumer;
    expect(seen).toEqual(["put:sse/a", "put:sse/b", "delete:sse/a"]);

    // Last-Event-ID resumes after the given revision.
    const first = (await t.admin.kvGet("sse/b"))!.modRevision;
    const res = await raw(
      "/v1/watch/kv/sse/?recurse",
      { headers: { "last-event-id": String(first - 1) } },
      t.adminToken,
    );
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: kv"))
      text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain(`id: ${first}`);
  });

  it("records every change in the audit log with the token's name", async () => {
    const c = await t.clientWith(
      [{ resource: "kv", prefix: "audited/", access: "write" }],
      "auditor-test",
    );
    await c.kvPut("audited/x", "1");
    await c.kvDelete("audited/x");
    const log = await t.admin.audit(20);
    const mine = log
      .filter((e) => e.token === "auditor-test")
      .map((e) => `${e.action} ${e.target}`);
    expect(mine).toEqual(["kv.put audited/x", "kv.delete audited/x"]);
  });
});

describe("bad input", () => {
  it("answers 4xx naming the field and writes nothing", async () => {
    const before = (await t.admin.health()).revision;
    const cases: [string, RequestInit, number, string | undefined][] = [
      ["/v1/kv/a?cas=abc", { method: "PUT", body: "x" }, 400, "cas"],
      ["/v1/kv/a?bogus=1", { method: "PUT", body: "x" }, 400, "bogus"],
      ["/v1/kv/", { method: "PUT", body: "x" }, 400, "key"],
      ["/v1/kv/%E0%A4%A", { method: "PUT", body: "x" }, 400, "key"],
      ["/v1/kv/a%01b", { method: "PUT", body: "x" }, 400, "key"],
      ["/v1/kv/big", { method: "PUT", body: Buffer.alloc(3 * 1024 * 1024) }, 413, "body"],
      ["/v1/txn", { method: "POST", body: "{not json" }, 400, "body"],
      [
        "/v1/txn",
        { method: "POST", body: JSON.stringify({ success: [], extra: 1 }) },
        400,
        "extra",
      ],
      [
        "/v1/txn",
        { method: "POST", body: JSON.stringify({ success: [{ type: "put", key: "k" }] }) },
        400,
        "success.0.value",
      ],
      [
        "/v1/tokens",
        {
          method: "POST",
          body: JSON.stringify({ name: "bad name!", policies: [{ admin: true }] }),
        },
        400,
        "name",
      ],
      ["/v1/kv/a", { method: "PATCH" }, 405, undefined],
      ["/v1/nope", {}, 404, undefined],
    ];
    for (const [path, init, status, field] of cases) {
      const res = await raw(path, init, t.adminToken);
      const body = (await res.json()) as { error: { code: string; field?: string } };
      expect([path, res.status]).toEqual([path, status]);
      expect(body.error.code).toEqual(expect.any(String));
      if (field !== undefined) expect([path, body.error.field]).toEqual([path, field]);
    }
    expect((await t.admin.health()).revision).toBe(before);
  });
});

describe("keys with dot segments", () => {
  it("are refused by the server and the client instead of addressing another key", async () => {
    for (const path of ["/v1/kv/a/../b", "/v1/kv/a/./c", "/v1/kv/a/%2e%2e/b", "/v1/kv/.."]) {
      // node:http sends the path as written (fetch would resolve the dots first).
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          t.url + "/",
          { method: "PUT", path, headers: { authorization: `Bearer ${t.adminToken}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on("error", reject);
        req.end("v");
      });
      expect([path, status]).toEqual([path, 400]);
    }
    await expect(t.admin.kvPut("a/../b", "v")).rejects.toThrow(/must not contain/);
    expect(await t.admin.kvGet("b")).toBeUndefined();
    expect(await t.admin.kvGet("a/c")).toBeUndefined();
  });
});
