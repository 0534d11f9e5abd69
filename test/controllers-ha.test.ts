/**
 * Two `gantry server`s on one real etcd: one leads the controllers, the other stands by; when
 * the leader is killed (-9), the other takes over within the lease's TTL and deploys go on.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually } from "./helpers/paas.js";

let etcd: EtcdServer;
let servers: GantryProcess[] = [];

async function role(g: GantryProcess): Promise<string | undefined> {
  const res = await fetch(`${g.url}/v1/health`);
  return ((await res.json()) as { controllers?: string }).controllers;
}

beforeAll(async () => {
  etcd = await startEtcd();
  const store = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  servers = [
    await startGantry({ mode: "server", store }),
    await startGantry({ mode: "server", store }),
  ];
}, 60_000);

afterAll(async () => {
  for (const g of servers) await g.cleanup();
  await etcd?.cleanup();
});

describe("controllers on two servers", () => {
  it("one leads; when it is killed the other takes over and a release still goes live", async () => {
    const roles = await eventually("a leader and a standby", async () => {
      const r = await Promise.all(servers.map(role));
      return r.includes("leader") && r.includes("standby") ? r : undefined;
    });
    const leader = servers[roles.indexOf("leader")]!;
    const standby = servers[roles.indexOf("standby")]!;

    await leader.kill();
    const killedAt = Date.now();
    await eventually("the standby to lead", async () => (await role(standby)) === "leader", 30_000);
    // Within the lease's TTL (10 s) and a renewal, not some other timeout.
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    // Only a running controller makes a release live: config before any push goes live at once.
    expect((await standby.cli(["apps:create", "hello"])).code).toBe(0);
    const set = await standby.cli(["config:set", "hello", "GREETING=hi"], { timeoutMs: 30_000 });
    expect(set.code, set.stderr).toBe(0);
    const releases = JSON.parse((await standby.cli(["releases", "hello", "--json"])).stdout) as {
      version: number;
      status: string;
    }[];
    expect(releases.find((r) => r.version === 1)?.status).toBe("active");
  }, 90_000);
});
