import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../test/helpers/api.js";
import { GantryClient } from "./client.js";
import { destroySession, getSession, Session, SessionLostError } from "./sessions.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A client that counts the requests it sends, by method and path. */
function countingClient(): { client: GantryClient; requests: string[] } {
  const requests: string[] = [];
  const client = new GantryClient({
    addr: t.url,
    token: t.adminToken,
    fetch: (input, init) => {
      requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}`);
      return fetch(input, init);
    },
  });
  return { client, requests };
}

describe("Session", () => {
  it("keeps itself alive past its TTL by renewing every ttl/3", async () => {
    const { client, requests } = countingClient();
    // A 2 s TTL and 5 s of life: past two TTLs, with room for a loaded machine's scheduling.
    const s = await Session.create(client, { ttl: "2s" });
    await sleep(5000);
    expect(s.lost).toBeUndefined();
    expect(await getSession(t.admin, s.id)).toMatchObject({ id: s.id, ttl: "2s" });
    const renewals = requests.filter((r) => r.endsWith("/renew")).length;
    expect(renewals).toBeGreaterThanOrEqual(5);
    expect(renewals).toBeLessThanOrEqual(9);
    await s.destroy();
    expect(await getSession(t.admin, s.id)).toBeUndefined();
  });

  it("reports the loss once when the session is destroyed behind its back", async () => {
    const lost: SessionLostError[] = [];
    const s = await Session.create(t.admin, { ttl: "1s", onLost: (e) => lost.push(e) });
    await destroySession(t.admin, s.id);
    await sleep(1200);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(SessionLostError);
    expect(s.signal.aborted).toBe(true);
    await expect(s.acquire("c/after-loss", "x")).rejects.toBeInstanceOf(SessionLostError);
  });

  it("declares the session lost when no renewal succeeds for a TTL (server unreachable)", async () => {
    let down = false;
    const client = new GantryClient({
      addr: t.url,
      token: t.adminToken,
      fetch: (input, init) =>
        down ? Promise.reject(new TypeError("fetch failed")) : fetch(input, init),
    });
    const lost: SessionLostError[] = [];
    const s = await Session.create(client, { ttl: "1s", onLost: (e) => lost.push(e) });
    down = true;
    await sleep(600);
    expect(lost).toHaveLength(0);
    await sleep(900);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.message).toMatch(/within its TTL/);
    expect(s.signal.aborted).toBe(true);
  });

  it("waits for a held lock with blocking reads and gets it as soon as it is released", async () => {
    const holder = await Session.create(t.admin);
    expect(await holder.acquire("c/wait", "holder")).toBe(true);
    const { client, requests } = countingClient();
    const waiter = await Session.create(client);
    const waited: string[] = [];
    const t0 = Date.now();
    const got = waiter.acquire("c/wait", "waiter", {
      onWait: (kv) => waited.push(kv.session ?? ""),
    });
    await sleep(1500);
    const before = requests.length;
    await holder.release("c/wait");
    expect(await got).toBe(true);
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(2500);
    expect(waited).toEqual([holder.id]);
    // create + acquire + read + one blocking read while waiting: no polling.
    expect(before).toBeLessThanOrEqual(5);
    expect((await t.admin.kvGet("c/wait"))?.session).toBe(waiter.id);
    await waiter.destroy();
    await holder.destroy();
  });

  it("gives up waiting after the timeout and resolves false", async () => {
    const holder = await Session.create(t.admin);
    await holder.acquire("c/timeout", "h");
    const waiter = await Session.create(t.admin);
    const t0 = Date.now();
    expect(await waiter.acquire("c/timeout", "w", { timeoutMs: 400 })).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await t.admin.kvGet("c/timeout"))?.session).toBe(holder.id);
    await waiter.destroy();
    await holder.destroy();
  });

  it("fails a waiting acquire with SessionLostError when its own session is lost", async () => {
    const holder = await Session.create(t.admin);
    await holder.acquire("c/lost-wait", "h");
    const waiter = await Session.create(t.admin, { ttl: "1s" });
    const pending = waiter.acquire("c/lost-wait", "w");
    await sleep(200);
    await destroySession(t.admin, waiter.id);
    await expect(pending).rejects.toBeInstanceOf(SessionLostError);
    await holder.destroy();
  });
});
