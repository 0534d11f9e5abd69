/**
 * GET /v1/cluster/servers and `gantry servers` against real servers: two `gantry server`s
 * (in-process startServer) on a real three-member etcd cluster, one of them named after a member
 * as a cluster server is, and a server on the embedded store. Roles, health, raft index and last
 * contact come from the members' own status; the controllers' leader from the election key.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSecret } from "../src/api/tokens.js";
import { ClusterClient } from "../src/client/cluster.js";
import { GantryClient } from "../src/client/client.js";
import { ApiError } from "../src/client/errors.js";
import { K } from "../src/model/keys.js";
import { ClusterServersSchema, type ClusterServers } from "../src/model/server.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { gantry } from "./helpers/cli-in-process.js";
import { startEtcdCluster, type EtcdCluster } from "./helpers/etcd.js";
import { eventually } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

let cluster: EtcdCluster;
let a: RunningServer;
let b: RunningServer;
const dirs: string[] = [];
const logs: string[] = [];

async function server(name?: string, store?: string): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-servers-api-"));
  dirs.push(dir);
  return startServer({
    dataDir: dir,
    ...(store === undefined ? {} : { store }),
    apiHost: "127.0.0.1",
    apiPort: await freePort(),
    registry: false,
    ...(name === undefined ? {} : { name }),
    // Dead members go 2 s after they stop answering (the leader's autopilot).
    autopilot: { deadServerCleanupMs: 2_000 },
    log: (l) => logs.push(l),
  });
}

const view = (s: RunningServer, token = s.adminToken): Promise<ClusterServers> =>
  new ClusterClient(new GantryClient({ addr: s.url, token })).servers();

beforeAll(async () => {
  cluster = await startEtcdCluster(3);
  const store = `etcd://${cluster.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  a = await server(cluster.members[0]!.name, store);
  b = await server(undefined, store);
}, 60_000);

afterAll(async () => {
  await b?.stop().catch(() => undefined);
  await a?.stop().catch(() => undefined);
  await cluster?.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("GET /v1/cluster/servers on etcd", () => {
  it("lists every member with its raft role and health, the servers, and the controllers' leader", async () => {
    const v = await eventually("a controllers leader and every member seen", async () => {
      const got = await view(b);
      // Records are written as the servers start (not awaited by startServer): both in.
      return got.controllers !== null && got.quorum.reachable === 3 && got.servers.length === 4
        ? got
        : undefined;
    });
    expect(ClusterServersSchema.parse(v)).toEqual(v);
    expect(v.store).toBe("etcd");
    expect(v.quorum).toEqual({ voters: 3, reachable: 3, ok: true });
    const members = v.servers.filter((r) => r.memberId !== null);
    expect(members.map((r) => r.name).sort()).toEqual(cluster.members.map((m) => m.name).sort());
    // etcd's own leader is the one row with role leader.
    const etcdLeader = await cluster.leader();
    expect(members.filter((r) => r.role === "leader").map((r) => r.name)).toEqual([
      etcdLeader!.name,
    ]);
    expect(members.filter((r) => r.role === "follower")).toHaveLength(2);
    for (const r of members) {
      expect(r.health).toBe("healthy");
      expect(r.raftIndex).toBeGreaterThan(0);
      expect(Date.now() - Date.parse(r.lastContact!)).toBeLessThan(5_000);
      expect(r.clientUrl).toBe(cluster.members.find((m) => m.name === r.name)!.clientUrl);
    }
    // Server a is the member it is named after; b (on someone else's etcd) has a row of its own.
    expect(members.find((r) => r.name === cluster.members[0]!.name)!.apiUrl).toBe(a.url);
    const own = v.servers.filter((r) => r.memberId === null);
    expect(own).toEqual([expect.objectContaining({ apiUrl: b.url, role: "unknown" })]);
    // Exactly one server leads the controllers, and it is the one /v1/health says leads.
    const leading = v.servers.filter((r) => r.controllers);
    expect(leading).toHaveLength(1);
    expect(leading[0]!.name).toBe(v.controllers);
    const health = (await (await fetch(`${leading[0]!.apiUrl}/v1/health`)).json()) as {
      controllers: string;
    };
    expect(health.controllers).toBe("leader");
  }, 30_000);

  it("every server registered itself on a lease", async () => {
    const recs = await a.store.range({ prefix: K.servers });
    expect(
      recs.kvs.map((kv) => JSON.parse(Buffer.from(kv.value).toString()).apiUrl).sort(),
    ).toEqual([a.url, b.url].sort());
    expect(recs.kvs.every((kv) => kv.lease !== "0")).toBe(true);
  });

  it("gantry servers prints the table and --json", async () => {
    process.env["GANTRY_ADDR"] = a.url;
    process.env["GANTRY_TOKEN"] = a.adminToken;
    try {
      const t = await gantry("servers");
      expect(t.code, t.err).toBe(0);
      const lines = t.out.split("\n");
      expect(lines[0]).toMatch(
        /^NAME\s+ROLE\s+HEALTH\s+LAST CONTACT\s+RAFT INDEX\s+API\s+CONTROLLERS$/,
      );
      const rowA = lines.find((l) => l.startsWith(cluster.members[0]!.name + " "));
      expect(rowA).toMatch(
        /\s(leader|follower)\s+healthy\s+(now|\ds ago)\s+\d+\s+http:\/\/127\.0\.0\.1:\d+\s/,
      );
      expect(rowA).toContain(a.url);
      // One server leads the controllers: the last column.
      expect(lines.filter((l) => l.endsWith(" leader"))).toHaveLength(1);
      expect(lines.at(-1)).toBe("quorum: 3 of 3 voters reachable");
      const j = await gantry("servers", "--json");
      expect(j.code, j.err).toBe(0);
      const parsed = ClusterServersSchema.parse(JSON.parse(j.out));
      expect(parsed.servers).toHaveLength(4);
      expect((await gantry("servers", "--help")).out).toContain("$ gantry servers --json");
    } finally {
      delete process.env["GANTRY_ADDR"];
      delete process.env["GANTRY_TOKEN"];
    }
  });

  it("is for whoever may read nodes", async () => {
    const viewer = newSecret();
    await a.api.deps.tokens.create(
      "viewer-1",
      [{ resource: "node", prefix: "", access: "read" }],
      "test",
      viewer,
    );
    const appOnly = newSecret();
    await a.api.deps.tokens.create(
      "app-1",
      [{ resource: "app", prefix: "", access: "write" }],
      "test",
      appOnly,
    );
    await eventually(
      "b to know the tokens",
      async () => (await view(b, viewer).catch(() => undefined)) !== undefined,
    );
    await expect(view(a, appOnly)).rejects.toSatisfy(
      (e) => e instanceof ApiError && e.status === 403,
    );
  });

  it("shows a killed member unreachable (its last contact kept); the leader's autopilot then removes it", async () => {
    const dead = cluster.members[2]!;
    await dead.kill();
    const v = await eventually("the member to be seen unreachable", async () => {
      const got = await view(a);
      return got.servers.find((r) => r.name === dead.name)?.health === "unreachable"
        ? got
        : undefined;
    });
    const row = v.servers.find((r) => r.name === dead.name)!;
    expect(row).toMatchObject({ role: "unknown", raftIndex: null });
    expect(row.lastContact).not.toBeNull();
    expect(v.quorum).toEqual({ voters: 3, reachable: 2, ok: true });

    const after = await eventually("the member to be removed", async () => {
      const got = await view(a);
      return got.servers.some((r) => r.name === dead.name) ? undefined : got;
    });
    expect(after.quorum).toEqual({ voters: 2, reachable: 2, ok: true });
    expect(logs.filter((l) => l.startsWith("removed dead server"))).toEqual([
      expect.stringMatching(
        new RegExp(`^removed dead server ${dead.name} \\(unreachable [23] s\\)$`),
      ),
    ]);
  }, 30_000);

  it("a server that stops takes its record with it", async () => {
    await b.stop();
    const v = await eventually(
      "b's row to go",
      async () => {
        const got = await view(a);
        return got.servers.some((r) => r.apiUrl === b.url) ? undefined : got;
      },
      10_000,
    );
    expect(v.servers.filter((r) => r.memberId === null)).toEqual([]);
  }, 20_000);
});

describe("GET /v1/cluster/servers on the embedded store", () => {
  it("is one row: this server, its own quorum", async () => {
    const s = await server();
    try {
      const v = await eventually("the controllers to start", async () => {
        const got = await view(s);
        return got.controllers !== null ? got : undefined;
      });
      expect(v.store).toBe("sqlite");
      expect(v.quorum).toEqual({ voters: 1, reachable: 1, ok: true });
      expect(v.servers).toEqual([
        expect.objectContaining({
          name: expect.stringMatching(new RegExp(`:${new URL(s.url).port}$`)),
          role: "leader",
          health: "healthy",
          apiUrl: s.url,
          memberId: null,
          controllers: true,
        }),
      ]);
      expect(v.controllers).toBe(v.servers[0]!.name);
    } finally {
      await s.stop();
    }
  }, 20_000);
});
