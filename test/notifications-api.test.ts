/**
 * The notifications API in-process over a real store and real HTTP: who may list and change an
 * app's and a pipeline's hooks, what is stored (the secret sealed), validation, audit, and a
 * test send to a receiver that is not there.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppService } from "../src/apps/service.js";
import { NotificationsClient } from "../src/client/notifications.js";
import { K } from "../src/model/keys.js";
import { hookKey, hookSecretContext, NotifyHookSchema } from "../src/model/notify.js";
import type { Pipeline } from "../src/model/pipeline.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";

let t: TestApi;
let admin: NotificationsClient;

const app = (name: string) => ({
  name,
  createdAt: new Date().toISOString(),
  createdBy: "test",
  domains: [],
  formation: {},
  healthPath: "/",
  deployTimeoutMs: 30_000,
  drainMs: 1000,
  currentRelease: 0,
});

beforeAll(async () => {
  t = await startTestApi();
  admin = new NotificationsClient(t.admin);
  for (const name of ["web", "api", "other"])
    await t.store.put(`${K.apps}${name}`, JSON.stringify(app(name)));
  const shop: Pipeline = {
    name: "shop",
    stages: [
      { name: "staging", app: "web" },
      { name: "production", app: "api" },
    ],
    requireTests: false,
    requiredConfig: [],
    createdAt: new Date().toISOString(),
    createdBy: "test",
  };
  await t.store.put(`${K.pipelines}shop`, JSON.stringify(shop));
});
afterAll(async () => {
  await t?.close();
});

describe("notifications API", () => {
  it("adds a hook: the secret is answered once and stored sealed; lists redact the URL", async () => {
    const added = await admin.add({ app: "web" }, "https://u:p@chat.example.com/h?key=abc", [
      "deploy.failed",
    ]);
    expect(added.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(added.url).toBe("https://***@chat.example.com/h?key=***");
    expect(added.events).toEqual(["deploy.failed"]);
    const stored = NotifyHookSchema.parse(
      JSON.parse(text((await t.store.get(hookKey("app:web", added.id)))!.value)),
    );
    expect(stored.url).toBe("https://u:p@chat.example.com/h?key=abc");
    expect(stored.secret).not.toContain(added.secret);
    const box = (t.api.deps.apps as AppService).secrets;
    expect(box.decrypt(stored.secret, hookSecretContext("app:web", added.id))).toBe(added.secret);
    const list = await admin.list({ app: "web" });
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain("abc");
    expect(JSON.stringify(list)).not.toContain(added.secret);
    expect(list[0]).not.toHaveProperty("secret");
    const audit = await t.store.range({ prefix: K.audit });
    expect(audit.kvs.map((kv) => text(kv.value)).join("\n")).toContain(
      `"action":"notification.add","target":"app:web/${added.id}"`,
    );
  });

  it("refuses a non-http URL, an unknown event, an unknown app or pipeline", async () => {
    const bad = await errorOf(admin.add({ app: "web" }, "file:///etc/passwd"));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("http:// or https://");
    const ev = await errorOf(
      t.admin.json("POST", "/v1/apps/web/notifications", {
        body: { url: "http://x.example/", events: ["deploy.exploded"] },
      }),
    );
    expect(ev.status).toBe(400);
    expect((await errorOf(admin.list({ app: "nope" }))).status).toBe(404);
    expect((await errorOf(admin.list({ pipeline: "nope" }))).status).toBe(404);
  });

  it("app read lists, app write changes; a pipeline's hooks need it on every stage's app", async () => {
    const reader = new NotificationsClient(
      await t.clientWith([{ resource: "app", prefix: "", access: "read" }]),
    );
    expect(await reader.list({ app: "web" })).toHaveLength(1);
    expect(await reader.list({ pipeline: "shop" })).toEqual([]);
    expect((await errorOf(reader.add({ app: "web" }, "http://x.example/"))).status).toBe(403);

    const webOnly = new NotificationsClient(
      await t.clientWith([{ resource: "app", prefix: "web", access: "write" }]),
    );
    const refused = await errorOf(webOnly.add({ pipeline: "shop" }, "http://x.example/"));
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('app "api"');
    expect((await errorOf(webOnly.list({ app: "other" }))).status).toBe(403);
    const own = await webOnly.add({ app: "web" }, "http://x.example/");
    await webOnly.remove({ app: "web" }, own.id);

    const p = await admin.add({ pipeline: "shop" }, "http://chat.example/pipe");
    expect(p.target).toBe("pipeline:shop");
    expect((await admin.list({ pipeline: "shop" })).map((h) => h.id)).toEqual([p.id]);
    await admin.remove({ pipeline: "shop" }, p.id);
    expect((await errorOf(admin.remove({ pipeline: "shop" }, p.id))).status).toBe(404);
  });

  it("a test send to nobody answers not delivered, and the hook remembers why", async () => {
    const h = await admin.add({ app: "other" }, "http://127.0.0.1:9/nobody");
    const r = await admin.test({ app: "other" }, h.id);
    expect(r.delivered).toBe(false);
    expect(r.error).toMatch(/could not connect|no answer/);
    const [view] = await admin.list({ app: "other" });
    expect(view!.lastError).toMatchObject({ event: "test", attempts: 1 });
    expect(view!.lastDelivery).toBeUndefined();
  });
});
