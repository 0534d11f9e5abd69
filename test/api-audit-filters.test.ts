import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAuditFilter } from "../src/api/audit-query.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let kvOnly: Awaited<ReturnType<TestApi["clientWith"]>>;
beforeAll(async () => {
  t = await startTestApi();
  kvOnly = await t.clientWith([{ resource: "kv", prefix: "", access: "write" }], "writer");
  await t.admin.kvPut("audit-a/one", "1");
  await kvOnly.kvPut("audit-b/two", "2");
  await kvOnly.kvPut("audit-b/three", "3");
  await t.admin.tokensCreate("made-here", [], { role: "viewer" });
  await kvOnly.kvDelete("audit-b/two");
});
afterAll(async () => {
  await t?.close();
});

const get = async (query: string): Promise<Response> =>
  fetch(`${t.url}/v1/audit?${query}`, { headers: { authorization: `Bearer ${t.adminToken}` } });

describe("GET /v1/audit filters", () => {
  it("filters by token, action family and target text, newest last, each with an id", async () => {
    const byWriter = await t.admin.audit(100, { token: "writer" });
    expect(byWriter.map((e) => `${e.action} ${e.target}`)).toEqual([
      "kv.put audit-b/two",
      "kv.put audit-b/three",
      "kv.delete audit-b/two",
    ]);
    expect(byWriter.every((e) => typeof e.id === "string" && e.id.length > 13)).toBe(true);
    const tokens = await t.admin.audit(100, { action: "token" });
    expect(tokens.map((e) => e.target)).toContain("made-here");
    expect(tokens.every((e) => e.action.startsWith("token."))).toBe(true);
    const puts = await t.admin.audit(100, { action: "kv.put", target: "AUDIT-B" });
    expect(puts.map((e) => e.target)).toEqual(["audit-b/two", "audit-b/three"]);
    // A family is matched on a dot: "kv.p" is not a prefix family of kv.put.
    expect(await t.admin.audit(100, { action: "kv.p" })).toEqual([]);
  });

  it("pages backwards with before=<id> and limits after filtering", async () => {
    const newest = await t.admin.audit(1, { token: "writer" });
    expect(newest.map((e) => e.action)).toEqual(["kv.delete"]);
    const older = await t.admin.audit(2, { token: "writer", before: newest[0]!.id! });
    expect(older.map((e) => e.target)).toEqual(["audit-b/two", "audit-b/three"]);
    const oldest = await t.admin.audit(5, { token: "writer", before: older[0]!.id! });
    expect(oldest).toEqual([]);
  });

  it("takes since as a duration or an ISO time", async () => {
    expect((await t.admin.audit(100, { since: "1h", token: "writer" })).length).toBe(3);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect(await t.admin.audit(100, { since: future })).toEqual([]);
  });

  it("refuses bad filters naming the field, and non-admins", async () => {
    const bad = await get("since=yesterday");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("since");
    expect((await get("before=nope")).status).toBe(400);
    expect((await get("colour=red")).status).toBe(400);
    await expect(kvOnly.audit(10)).rejects.toMatchObject({ status: 403 });
    expect(parseAuditFilter(new URLSearchParams("since=15m"), 1_000_000)).toEqual({
      since: 100_000,
    });
  });
});
