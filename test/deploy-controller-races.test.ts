/**
 * Paths by which a deploy could wait for the controller's resync instead of an event (issue 19),
 * each made to happen on purpose, with the resync an hour away: if the controller missed what
 * it should have heard, the deploy would stall and the test time out.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AppsClient } from "../src/client/apps.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import { releaseKey, type Release } from "../src/model/app.js";
import {
  CompactedError,
  text,
  type Store,
  type Watch,
  type WatchEvent,
} from "../src/store/index.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

const HOUR = 3_600_000;

let t: TestApi | undefined;
let controller: DeployController | undefined;
afterEach(async () => {
  await controller?.stop();
  await t?.close();
  controller = undefined;
  t = undefined;
});

/** Until release `v` of `app` is active (a config-only release needs no agent), or throw. */
async function active(store: Store, app: string, v: number, ms: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const kv = await store.get(releaseKey(app, v));
    if (kv !== undefined && (JSON.parse(text(kv.value)) as Release).status === "active")
      return Date.now() - started;
    if (Date.now() - started > ms) throw new Error(`v${v} of ${app} is not active after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("the deploy controller hears what it must, with no resync", () => {
  it("an app created while the resync lists the apps is not forgotten until the next one", async () => {
    t = await startTestApi();
    const api = t;
    const apps = new AppsClient(api.admin);
    // The store answers the resync's listing of the apps late: after a new app was created and
    // its event was heard. The listing does not have it; the controller must not drop it.
    let listings = 0;
    let raced = false;
    const store = new Proxy(api.store, {
      get(target, prop, receiver) {
        if (prop !== "range") return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<Store["range"]>) => {
          const res = await target.range(...args);
          const [range, opts] = args;
          const listing =
            typeof range === "object" &&
            "prefix" in range &&
            range.prefix === "apps/" &&
            opts?.keysOnly;
          // The first listing is the controller's start; the second, its first resync.
          if (listing && ++listings === 2) {
            await apps.create("late", {});
            await new Promise((r) => setTimeout(r, 300));
            setTimeout(() => (raced = true), 50);
          }
          return res;
        };
      },
    });
    controller = startDeployController({ store, log: () => undefined, resyncMs: 2000 });
    const deadline = Date.now() + 5000;
    while (!raced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(raced).toBe(true);
    // The next resync is ~1.6 s away: the deploy must not wait for it.
    const answer = await apps.changeConfig("late", { set: { GREETING: "hi" } });
    expect(answer).toEqual({ changed: true, version: 1 });
    expect(await active(api.store, "late", 1, 3000)).toBeLessThan(1000);
  });

  it.each([
    ["ends", undefined],
    ["is overtaken by a compaction", new CompactedError(5, 9)],
  ])("a watch that %s is started again, and what it missed is seen", async (_what, error) => {
    t = await startTestApi();
    const api = t;
    const apps = new AppsClient(api.admin);
    await apps.create("hello", {});
    // The controller's watch of releases/ can be broken on purpose.
    const breakers: ((err?: Error) => void)[] = [];
    const store = new Proxy(api.store, {
      get(target, prop, receiver) {
        if (prop !== "watch") return Reflect.get(target, prop, receiver) as unknown;
        return (...args: Parameters<Store["watch"]>): Watch => {
          const w = target.watch(...args);
          const [range] = args;
          if (typeof range !== "object" || !("prefix" in range) || range.prefix !== "releases/")
            return w;
          const b = breakable(w);
          breakers.push(b.end);
          return b;
        };
      },
    });
    controller = startDeployController({ store, log: () => undefined, resyncMs: HOUR });
    await apps.changeConfig("hello", { set: { A: "1" } });
    await active(api.store, "hello", 1, 3000);
    expect(breakers).toHaveLength(1);
    breakers[0]!(error);
    // A release made while the watch is down: only watching again (and looking) finds it.
    await apps.changeConfig("hello", { set: { A: "2" } });
    expect(await active(api.store, "hello", 2, 3000)).toBeLessThan(1500);
    expect(breakers).toHaveLength(2);
  });
});

/** A watch that can be made to end, or to fail, from outside (as a compaction would). */
function breakable(w: Watch): Watch & { end(err?: Error): void } {
  let stop!: (err?: Error) => void;
  const ended = new Promise<IteratorResult<WatchEvent[]>>((resolve, reject) => {
    stop = (err) => (err === undefined ? resolve({ done: true, value: undefined }) : reject(err));
  });
  ended.catch(() => undefined);
  return {
    cancel: () => w.cancel(),
    end: (err) => {
      stop(err);
      w.cancel();
    },
    [Symbol.asyncIterator]() {
      const it = w[Symbol.asyncIterator]();
      return {
        next: () => Promise.race([it.next(), ended]),
        return: async () => {
          w.cancel();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
