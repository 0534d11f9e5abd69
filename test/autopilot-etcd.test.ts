/**
 * Dead-server cleanup on a real three-member etcd cluster (src/cluster/autopilot-run.ts): the
 * prober and the autopilot run over it with a 2 s delay, as the controller leader runs them.
 * A killed member is removed once the delay has passed (audited), never while its Gantry
 * server's record lives, never with --min-servers above what would remain, never when the live
 * members are no majority; a new autopilot (a new leader) gives the dead member the full delay
 * again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AuditLog } from "../src/audit/log.js";
import { startAutopilot, type Autopilot } from "../src/cluster/autopilot-run.js";
import { Membership } from "../src/cluster/membership.js";
import { ClusterProber } from "../src/cluster/prober.js";
import { K } from "../src/model/keys.js";
import type { ServerRecord } from "../src/model/server.js";
import { openEtcdStore } from "../src/store/etcd/index.js";
import { text, type Store } from "../src/store/index.js";
import { startEtcdCluster, type EtcdCluster } from "./helpers/etcd.js";
import { eventually } from "./helpers/paas.js";

const DELAY_MS = 2_000;

interface World {
  cluster: EtcdCluster;
  store: Store;
  membership: Membership;
  prober: ClusterProber;
  lines: string[];
  autopilot(minServers: number): Autopilot;
}

let cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function world(): Promise<World> {
  const cluster = await startEtcdCluster(3);
  cleanups.push(() => cluster.cleanup());
  const store = await openEtcdStore({ endpoints: cluster.endpoints, requestTimeoutMs: 2_000 });
  cleanups.push(() => store.close());
  const membership = new Membership(cluster.endpoints);
  cleanups.push(async () => membership.close());
  const prober = new ClusterProber({ membership, intervalMs: 250 }).start();
  cleanups.push(() => prober.stop());
  // Each member's Gantry server, as startServer registers it (named after its member).
  for (const m of cluster.members) {
    const rec: ServerRecord = {
      name: m.name,
      apiUrl: `https://${m.name}.test:7700`,
      pid: 1,
      startedAt: new Date().toISOString(),
    };
    await store.put(K.servers + m.name, JSON.stringify(rec));
  }
  const lines: string[] = [];
  return {
    cluster,
    store,
    membership,
    prober,
    lines,
    autopilot(minServers) {
      const a = startAutopilot({
        store,
        prober,
        membership,
        audit: new AuditLog("test"),
        config: { deadServerCleanupMs: DELAY_MS, minServers },
        log: (l) => lines.push(l),
      });
      cleanups.push(() => a.stop());
      return a;
    },
  };
}

const names = async (w: World): Promise<string[]> =>
  (await w.membership.list()).map((m) => m.name).sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("autopilot on a real etcd cluster", () => {
  it("keeps a dead member under --min-servers 3; a new autopilot with 2 removes it after the full delay", async () => {
    const w = await world();
    const first = w.autopilot(3);
    const dead = w.cluster.members[2]!;
    await dead.kill();
    // While its server's record is there, that server lives: the member only does not answer here.
    await eventually(
      "the autopilot to spare a member whose server lives",
      async () => w.lines.some((l) => l.includes("still renews its record")) || undefined,
      10_000,
    );
    expect(await names(w)).toHaveLength(3);
    // Its server dies too (its record's lease runs out).
    await w.store.delete(K.servers + dead.name);
    await eventually(
      "the autopilot to keep the dead member",
      async () => w.lines.some((l) => l.includes(`--min-servers is 3`)) || undefined,
      10_000,
    );
    expect(w.lines.join("\n")).toContain(`not removing dead server ${dead.name} (unreachable`);
    expect(await names(w)).toHaveLength(3);
    await first.stop();

    // A new leader: it starts its clocks now, so the member gets the full delay again.
    const startedAt = Date.now();
    w.autopilot(2);
    await eventually(
      "the dead member to be removed",
      async () => ((await names(w)).length === 2 ? true : undefined),
      15_000,
    );
    const after = Date.now() - startedAt;
    expect(after).toBeGreaterThanOrEqual(DELAY_MS);
    expect(after).toBeLessThan(DELAY_MS + 5_000);
    expect(await names(w)).toEqual(
      w.cluster.members
        .slice(0, 2)
        .map((m) => m.name)
        .sort(),
    );
    const removed = w.lines.find((l) => l.startsWith("removed dead server"));
    expect(removed).toMatch(
      new RegExp(`^removed dead server ${dead.name} \\(unreachable \\d+ s\\)$`),
    );

    const audit = (await w.store.range({ prefix: K.audit })).kvs.map((kv) =>
      JSON.parse(text(kv.value)),
    ) as { action: string; target: string; token: string }[];
    expect(audit).toEqual([
      expect.objectContaining({
        action: "server.remove",
        token: "autopilot",
        target: expect.stringContaining(dead.name),
      }),
    ]);
    expect((await w.store.range({ prefix: K.servers })).kvs).toHaveLength(2);

    // The two that remain keep working, and nothing more is removed.
    await w.store.put("after-removal", "ok");
    await sleep(DELAY_MS + 1_000);
    expect(await names(w)).toHaveLength(2);
  }, 60_000);

  it("removes nothing when two of three are dead (no quorum); once one is back, the other goes", async () => {
    const w = await world();
    w.autopilot(2);
    // Their servers die with them (their records go first: without quorum nothing is written).
    for (const m of w.cluster.members.slice(1)) await w.store.delete(K.servers + m.name);
    for (const m of w.cluster.members.slice(1)) await m.kill();
    await eventually(
      "the autopilot to hold back for want of quorum",
      async () =>
        w.lines.filter((l) => l.includes("no quorum: 1 of 3 voters reachable")).length === 2
          ? true
          : undefined,
      15_000,
    );
    await sleep(DELAY_MS);
    expect(w.lines.filter((l) => l.startsWith("removed"))).toEqual([]);
    expect(await names(w)).toHaveLength(3);
    // One comes back: quorum again (2 of 3), and the one still dead, dead for longer than the
    // delay, goes at the next pass.
    const [, back, still] = w.cluster.members;
    await back!.start();
    await eventually(
      "the still-dead member to be removed",
      async () => ((await names(w)).length === 2 ? true : undefined),
      15_000,
    );
    expect(await names(w)).toEqual([w.cluster.members[0]!.name, back!.name].sort());
    expect(w.lines.filter((l) => l.startsWith("removed"))).toEqual([
      expect.stringMatching(new RegExp(`^removed dead server ${still!.name} `)),
    ]);
  }, 60_000);
});
