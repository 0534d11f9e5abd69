import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../test/helpers/api.js";
import { destroySession, SessionLostError } from "../client/sessions.js";
import { campaign, Election, type Leader } from "./election.js";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collect what observe() yields until aborted. */
function observeInto(e: Election, seen: (Leader | undefined)[]): AbortController {
  const stop = new AbortController();
  void (async () => {
    for await (const leader of e.observe({ signal: stop.signal })) seen.push(leader);
  })();
  return stop;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

describe("Election", () => {
  it("elects one leader, hands over on resign, and observers see every change", async () => {
    const watcher = new Election(t.admin, "web");
    const seen: (Leader | undefined)[] = [];
    const stop = observeInto(watcher, seen);
    await until(() => seen.length === 1);
    expect(seen[0]).toBeUndefined();

    const a = await campaign(t.admin, "web", "node-a");
    expect(a.isLeader).toBe(true);
    const b = new Election(t.admin, "web");
    let bLeads = false;
    const bCampaign = b.campaign("node-b").then(() => (bLeads = true));
    await sleep(300);
    expect(bLeads).toBe(false);
    expect((await watcher.leader())?.value).toBe("node-a");

    await a.proclaim("node-a v2");
    await until(() => seen.some((l) => l?.value === "node-a v2"));

    await a.resign();
    expect(a.isLeader).toBe(false);
    await bCampaign;
    expect(b.isLeader).toBe(true);
    await until(() => seen.at(-1)?.value === "node-b");
    expect(seen.map((l) => l?.value)).toEqual([
      undefined,
      "node-a",
      "node-a v2",
      // a's resign deletes the key, then b takes it: observers may see the gap or not
      ...(seen.length === 5 ? [undefined] : []),
      "node-b",
    ]);
    expect(seen.at(-1)?.session).toBe((await watcher.leader())?.session);

    await b.resign();
    await until(() => seen.at(-1) === undefined);
    stop.abort();
  });

  it("a leader whose session is lost stops leading and the next candidate takes over", async () => {
    const lost: SessionLostError[] = [];
    const a = await campaign(t.admin, "db", "a", { ttl: "1s", onLost: (e) => lost.push(e) });
    const b = new Election(t.admin, "db", { ttl: "1s" });
    const bCampaign = b.campaign("b");
    const leaderA = await a.leader();
    expect(leaderA?.value).toBe("a");
    // Simulate a's death from the server side: its session is destroyed.
    await destroySession(t.admin, leaderA!.session!);
    await bCampaign;
    expect((await b.leader())?.value).toBe("b");
    await until(() => lost.length === 1);
    expect(lost[0]).toBeInstanceOf(SessionLostError);
    expect(a.isLeader).toBe(false);
    expect(a.signal?.aborted).toBe(true);
    await expect(a.proclaim("a again")).rejects.toMatchObject({ code: "not_leader" });
    await b.resign();
  });

  it("stops campaigning when its signal aborts, leaving no session behind", async () => {
    const a = await campaign(t.admin, "jobs", "a");
    const b = new Election(t.admin, "jobs");
    await expect(b.campaign("b", { signal: AbortSignal.timeout(300) })).rejects.toBeDefined();
    expect(b.isLeader).toBe(false);
    const sessions = (await t.admin.json<{ name: string }[]>("GET", "/v1/sessions")).filter(
      (s) => s.name === "elections/jobs",
    );
    expect(sessions).toHaveLength(1);
    await a.resign();
  });
});
