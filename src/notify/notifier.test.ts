/**
 * The notifier and the sender over a real store and a real receiver on loopback: overlapping
 * leaders, a compacted history, a removed hook, giving up.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../../test/helpers/notify-receiver.js";
import { SecretBox } from "../apps/secrets.js";
import type { Deploy } from "../model/app.js";
import { K } from "../model/keys.js";
import {
  hookKey,
  hookSecretContext,
  NOTIFY_EVENTS,
  NotifyCursorSchema,
  NotifyHookSchema,
  outboxKey,
  type NotifyHook,
  type OutboxEntry,
} from "../model/notify.js";
import { tempDirs } from "../store/sqlite/test-dirs.js";
import { openStore, text, type Store } from "../store/index.js";
import { byRevision, OutboxWriter } from "./notifier.js";
import { pipelineOf } from "./route.js";
import { Sender } from "./sender.js";

const dirs = tempDirs();
const box = new SecretBox({ key: randomBytes(32) });
let store: Store | undefined;
let rx: Receiver | undefined;
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const s of stops.splice(0)) await s();
  await store?.close();
  await rx?.close();
  store = undefined;
  rx = undefined;
  dirs.cleanup();
});

const until = async (what: string, ok: () => Promise<boolean> | boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function addHook(s: Store, url: string, events = [...NOTIFY_EVENTS]): Promise<NotifyHook> {
  const id = randomBytes(4).toString("hex");
  const hook: NotifyHook = {
    id,
    target: "app:hello",
    url,
    events,
    secret: box.encrypt("s3cret", hookSecretContext("app:hello", id)),
    createdAt: new Date().toISOString(),
    createdBy: "test",
  };
  await s.put(hookKey("app:hello", id), JSON.stringify(hook));
  return hook;
}

const deploy = (release: number, status: Deploy["status"]): string =>
  JSON.stringify({
    app: "hello",
    release,
    previous: release - 1,
    status,
    startedAt: `2026-01-01T00:00:0${release}.000Z`,
    log: [],
  } satisfies Deploy);

const writer = (s: Store, log: string[] = []) => {
  const w = new OutboxWriter({ store: s, log: (l) => log.push(l), idleCursorMs: 50 });
  w.start();
  stops.push(() => w.stop());
  return w;
};

const outbox = async (s: Store): Promise<OutboxEntry[]> =>
  (await s.range({ prefix: K.notifyOutbox })).kvs.map(
    (kv) => JSON.parse(text(kv.value)) as OutboxEntry,
  );

describe("the notifier", () => {
  it("groups a replayed batch by revision", () => {
    const ev = (rev: number) =>
      ({ type: "put", kv: { key: `k${rev}`, modRevision: rev } }) as never;
    expect(byRevision([ev(3), ev(3), ev(4), ev(6)]).map((g) => g.length)).toEqual([2, 1, 1]);
  });

  it("two notifiers at once (a leader change overlapping) write each event once", async () => {
    store = await openStore(dirs.make());
    await addHook(store, "http://127.0.0.1:9/x");
    writer(store);
    await until("the cursor", async () => (await store!.get(K.notifyCursor)) !== undefined);
    writer(store);
    for (let v = 1; v <= 5; v++) {
      await store.put("deploys/hello", deploy(v, "running"));
      await store.put("deploys/hello", deploy(v, "succeeded"));
    }
    await until("10 entries", async () => (await outbox(store!)).length >= 10);
    await new Promise((r) => setTimeout(r, 300));
    const got = (await outbox(store)).map((e) => `${e.payload.event} v${e.payload.release}`);
    expect(got).toHaveLength(10);
    expect(new Set(got).size).toBe(10);
  });

  it("a history compacted before it was read: resyncs from now, says so, and goes on", async () => {
    const dir = dirs.make();
    store = await openStore(dir);
    await addHook(store, "http://127.0.0.1:9/x");
    const log: string[] = [];
    const w = writer(store, log);
    await until("the cursor", async () => (await store!.get(K.notifyCursor)) !== undefined);
    await w.stop();
    await store.put("deploys/hello", deploy(1, "running"));
    const { revision } = await store.status();
    await store.put("kv/x", "1");
    await store.compact(revision + 1);
    writer(store, log);
    await until("the resync", () => log.some((l) => l.includes("compacted")));
    const cursor = NotifyCursorSchema.parse(
      JSON.parse(text((await store.get(K.notifyCursor))!.value)),
    );
    expect(cursor.resyncedAt).toBeDefined();
    expect(await outbox(store)).toEqual([]);
    await store.put("deploys/hello", deploy(1, "succeeded"));
    await until("the next event", async () => (await outbox(store!)).length === 1);
    expect((await outbox(store))[0]!.payload.event).toBe("deploy.succeeded");
  });

  it("only the events a hook asked for", async () => {
    store = await openStore(dirs.make());
    await addHook(store, "http://127.0.0.1:9/x", ["deploy.failed"]);
    writer(store);
    await until("the cursor", async () => (await store!.get(K.notifyCursor)) !== undefined);
    await store.put("deploys/hello", deploy(1, "running"));
    await store.put("deploys/hello", deploy(1, "failed"));
    await until("1 entry", async () => (await outbox(store!)).length === 1);
    expect((await outbox(store))[0]!.payload).toMatchObject({
      event: "deploy.failed",
      error: "the deploy failed",
    });
  });
});

describe("which hooks", () => {
  it("a stage's and a review app's events go to their pipeline's hooks", async () => {
    store = await openStore(dirs.make());
    const pipeline = {
      name: "shop",
      stages: [
        { name: "staging", app: "web" },
        { name: "production", app: "web-prod" },
      ],
      requireTests: false,
      requiredConfig: [],
      createdAt: "t",
      createdBy: "test",
    };
    await store.put(`${K.pipelines}shop`, JSON.stringify(pipeline));
    const review = {
      name: "shop-feature-x",
      createdAt: "t",
      createdBy: "test",
      domains: [],
      formation: {},
      healthPath: "/",
      deployTimeoutMs: 30_000,
      drainMs: 0,
      currentRelease: 0,
      review: { pipeline: "shop", parent: "web", branch: "feature/x", updatedAt: "t" },
    };
    await store.put(`${K.apps}shop-feature-x`, JSON.stringify(review));
    expect(await pipelineOf(store, "web-prod")).toBe("shop");
    expect(await pipelineOf(store, "shop-feature-x")).toBe("shop");
    expect(await pipelineOf(store, "alone")).toBeUndefined();
  });
});

describe("the sender", () => {
  const entry = (hook: string, attempts: number): OutboxEntry => ({
    hook,
    payload: { event: "deploy.failed", app: "hello", release: 1, text: "hello: x", at: "t" },
    attempts,
    createdAt: new Date().toISOString(),
    nextAt: new Date().toISOString(),
  });
  const sender = (s: Store) => {
    const snd = new Sender({ store: s, box, log: () => undefined, random: () => 0 });
    snd.start();
    stops.push(() => snd.stop());
  };

  it("gives up after the last attempt and records it on the hook", async () => {
    store = await openStore(dirs.make());
    rx = await startReceiver();
    rx.script("/down", [500]);
    const hook = await addHook(store, `${rx.url}/down`);
    const key = hookKey(hook.target, hook.id);
    await store.put(outboxKey(Date.now(), 1, 0), JSON.stringify(entry(key, 19)));
    sender(store);
    await until("the outbox to empty", async () => (await outbox(store!)).length === 0);
    expect(rx.at("/down")).toHaveLength(1);
    const h = NotifyHookSchema.parse(JSON.parse(text((await store.get(key))!.value)));
    expect(h.lastError).toMatchObject({ attempts: 20, status: 500, gaveUp: true });
    expect(h.lastDelivery).toBeUndefined();
  });

  it("drops what waits for a removed hook", async () => {
    store = await openStore(dirs.make());
    rx = await startReceiver();
    await store.put(
      outboxKey(Date.now(), 1, 0),
      JSON.stringify(entry(hookKey("app:hello", "0000beef"), 0)),
    );
    sender(store);
    await until("the outbox to empty", async () => (await outbox(store!)).length === 0);
    expect(rx.received).toHaveLength(0);
  });

  it("a stop cuts a delivery in flight short and leaves its entry for the next leader", async () => {
    store = await openStore(dirs.make());
    rx = await startReceiver();
    rx.script("/hang", [0]);
    const hook = await addHook(store, `${rx.url}/hang`);
    await store.put(
      outboxKey(Date.now(), 1, 0),
      JSON.stringify(entry(hookKey(hook.target, hook.id), 0)),
    );
    const snd = new Sender({ store, box, log: () => undefined });
    snd.start();
    await until("the request", () => rx!.at("/hang").length === 1);
    const t0 = Date.now();
    await snd.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    const left = await outbox(store);
    expect(left).toHaveLength(1);
    expect(left[0]!.attempts).toBe(0);
  });

  it("wakes for a retry at its time, not by polling", async () => {
    store = await openStore(dirs.make());
    rx = await startReceiver();
    rx.script("/later", [503]);
    const hook = await addHook(store, `${rx.url}/later`);
    await store.put(
      outboxKey(Date.now(), 1, 0),
      JSON.stringify(entry(hookKey(hook.target, hook.id), 0)),
    );
    sender(store);
    await until("two attempts", () => rx!.at("/later").length === 2);
    const [a, b] = rx.at("/later");
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950);
    expect(b!.headers["x-gantry-signature-256"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    await until("the outbox to empty", async () => (await outbox(store!)).length === 0);
  });
});
