import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../../test/helpers/api.js";
import { AppsClient } from "../../client/apps.js";
import { ApiError } from "../../client/errors.js";
import { StackClient } from "../../client/stack.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const status = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 200,
    (err: unknown) => (err instanceof ApiError ? err.status : 0),
  );

describe("GET /v1/stack/apps", () => {
  it("answers each named app that exists as the single-app routes do, in one request", async () => {
    const apps = new AppsClient(t.admin);
    await apps.create("shop-a", { healthPath: "/up" });
    await apps.create("shop-b");
    await apps.changeConfig("shop-a", { set: { MODE: "live", TOKEN: "s3cret" } });

    const read = await new StackClient(t.admin).apps(["shop-a", "shop-b", "shop-gone"]);
    expect(read.map((r) => r.app.name).sort()).toEqual(["shop-a", "shop-b"]);
    const a = read.find((r) => r.app.name === "shop-a")!;
    const { gitUrl: _g, url: _u, ...info } = await apps.info("shop-a");
    expect(a.app).toMatchObject(info);
    expect(a.app.modRevision).toBeGreaterThan(0);
    expect(a.config).toEqual(await apps.config("shop-a"));
    expect(a.config.values).toEqual({ MODE: "live", TOKEN: "s3cret" });
    expect(a.releases).toEqual(await apps.releases("shop-a"));
    expect(a.releases.length).toBeGreaterThan(0);
    expect(a.builds).toEqual(await apps.builds("shop-a"));
    expect(await new StackClient(t.admin).apps([])).toEqual([]);
  });

  it("needs write on every app named (configs hold secrets), and valid names", async () => {
    const reader = await t.clientWith([{ resource: "app", prefix: "shop-a", access: "read" }]);
    expect(await status(new StackClient(reader).apps(["shop-a"]))).toBe(403);
    const writer = await t.clientWith([{ resource: "app", prefix: "shop-a", access: "write" }]);
    expect((await new StackClient(writer).apps(["shop-a"])).length).toBe(1);
    expect(await status(new StackClient(writer).apps(["shop-a", "shop-b"]))).toBe(403);
    expect(await status(new StackClient(t.admin).apps(["Bad_Name"]))).toBe(400);
  });
});
