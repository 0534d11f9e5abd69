import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";
import { ApiError } from "../../client/errors.js";
import { CatalogClient } from "../../client/catalog.js";
import { StackClient } from "../../client/stack.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const rec = (kind: string, name: string, protect = false) => ({
  kind,
  name,
  stack: "shop",
  protect,
  specHash: "h1",
});

const status = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 200,
    (err: unknown) => (err instanceof ApiError ? err.status : 0),
  );

describe("the stack's records", () => {
  it("writes records in batches, stamps who and when, lists them with revisions, forgets one", async () => {
    const stacks = new StackClient(t.admin);
    const res = await stacks.batch({
      put: [rec("kv", "app/config/port"), rec("app", "web", true)],
    });
    expect(res).toMatchObject({ put: 2, deleted: 0 });
    const { items, revision } = await stacks.items();
    expect(items.map((i) => `${i.kind}/${i.name}`).sort()).toEqual([
      "app/web",
      "kv/app/config/port",
    ]);
    expect(items.every((i) => i.modRevision! > 0 && i.modRevision! <= revision)).toBe(true);
    const one = await stacks.item("kv", "app/config/port");
    expect(one).toMatchObject({ stack: "shop", appliedBy: expect.stringMatching(/^admin-/) });
    expect(Date.parse(one!.appliedAt)).toBeGreaterThan(Date.now() - 60_000);

    const forgotten = await stacks.forget("kv", "app/config/port");
    expect(forgotten.name).toBe("app/config/port");
    expect(await stacks.item("kv", "app/config/port")).toBeUndefined();
    expect(await status(stacks.forget("kv", "app/config/port"))).toBe(404);
    await stacks.batch({ delete: [{ kind: "app", name: "web" }] });
    expect((await stacks.items()).items).toEqual([]);
  });

  it("takes a batch larger than one transaction", async () => {
    const stacks = new StackClient(t.admin);
    const put = Array.from({ length: 300 }, (_, i) => rec("kv", `bulk/${i}`));
    await stacks.batch({ put });
    expect((await stacks.items()).items).toHaveLength(300);
    await stacks.batch({ delete: put.map(({ kind, name }) => ({ kind, name })) });
    expect((await stacks.items()).items).toHaveLength(0);
  });

  it("checks the stack policy: items/KIND/NAME and info", async () => {
    const kvOnly = new StackClient(
      await t.clientWith([{ resource: "stack", prefix: "items/kv/", access: "write" }]),
    );
    expect(await status(kvOnly.batch({ put: [rec("kv", "a")] }))).toBe(200);
    expect(await status(kvOnly.batch({ put: [rec("kv", "b"), rec("app", "web")] }))).toBe(403);
    expect(await new StackClient(t.admin).item("kv", "b")).toBeUndefined(); // all or nothing
    expect(await status(kvOnly.info())).toBe(403);
    const none = new StackClient(
      await t.clientWith([{ resource: "kv", prefix: "", access: "write" }]),
    );
    expect(await status(none.items())).toBe(403);
  });

  it("refuses bad records naming the field", async () => {
    const err = await new StackClient(t.admin)
      .batch({ put: [{ ...rec("KV!", "x") }] })
      .catch((e: unknown) => e as ApiError);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).field).toBe("put.0.kind");
  });

  it("patches stack/info: fields are merged, null removes one, the whole is validated", async () => {
    const stacks = new StackClient(t.admin);
    // Before anything is stored: only the git URL of the stack repo this server hosts.
    expect(await stacks.info()).toEqual({ gitUrl: expect.stringMatching(/\/git\/.+\.git$/) });
    await stacks.updateInfo({ name: "shop", gitUrl: "http://x/stack.git" });
    expect(await stacks.updateInfo({ commit: "abc" })).toEqual({
      name: "shop",
      gitUrl: "http://x/stack.git",
      commit: "abc",
    });
    expect(await stacks.updateInfo({ gitUrl: null })).toEqual({ name: "shop", commit: "abc" });
    expect(await status(stacks.updateInfo({ colour: "blue" } as object))).toBe(400);
  });
});

describe("routes the stack kinds read and write through", () => {
  it("changes a token's policies in place: its secret keeps working, its revision moves", async () => {
    const reader = await t.clientWith(
      [{ resource: "kv", prefix: "a/", access: "read" }],
      "stack-reader",
    );
    const before = (await t.admin.tokensList()).find((x) => x.name === "stack-reader")!;
    await t.admin.tokensUpdate("stack-reader", [{ resource: "kv", prefix: "", access: "write" }]);
    const after = (await t.admin.tokensList()).find((x) => x.name === "stack-reader")!;
    expect(after.policies).toEqual([{ resource: "kv", prefix: "", access: "write" }]);
    expect(after.modRevision!).toBeGreaterThan(before.modRevision!);
    expect(await reader.kvPut("b/c", "1")).toBeGreaterThan(0);
    expect(await status(reader.tokensUpdate("stack-reader", [{ admin: true }]))).toBe(403);
  });

  it("lists registrations as stored, with check definitions and revisions", async () => {
    await new CatalogClient(t.admin).register({
      service: "db",
      node: "n1",
      address: "10.0.0.5",
      port: 5432,
      checks: [{ type: "tcp", interval: "10s" }],
    });
    const regs = await t.admin.json<{ service: string; checks: unknown[]; modRevision: number }[]>(
      "GET",
      "/v1/catalog/registrations",
    );
    const db = regs.find((r) => r.service === "db")!;
    expect(db.checks).toEqual([{ type: "tcp", interval: "10s", id: "tcp" }]);
    expect(db.modRevision).toBeGreaterThan(0);
  });

  it("registers many instances in one request, all checked before any is written", async () => {
    const reg = (service: string, port: number) => ({
      service,
      node: "n1",
      address: "10.0.0.9",
      port,
      checks: [{ type: "tcp", interval: "10s" }],
    });
    const put = (client: typeof t.admin, body: unknown) =>
      client.json<{ revision: number; instances: { id: string }[] }>(
        "PUT",
        "/v1/catalog/registrations",
        { body },
      );
    const res = await put(t.admin, [reg("bulk-a", 1), reg("bulk-b", 2)]);
    expect(res.instances.map((i) => i.id)).toEqual(["bulk-a", "bulk-b"]);
    const regs = await t.admin.json<{ service: string; port: number }[]>(
      "GET",
      "/v1/catalog/registrations",
    );
    expect(regs.filter((r) => r.service.startsWith("bulk-")).map((r) => r.port)).toEqual([1, 2]);
    expect(await status(put(t.admin, [reg("bulk-a", 3), reg("bulk-a", 4)]))).toBe(400);
    const onlyA = await t.clientWith([{ resource: "service", prefix: "bulk-a", access: "write" }]);
    expect(await status(put(onlyA, [reg("bulk-a", 5), reg("bulk-b", 5)]))).toBe(403);
    const after = await t.admin.json<{ service: string; port: number }[]>(
      "GET",
      "/v1/catalog/registrations",
    );
    expect(after.filter((r) => r.service.startsWith("bulk-")).map((r) => r.port)).toEqual([1, 2]);
  });
});
