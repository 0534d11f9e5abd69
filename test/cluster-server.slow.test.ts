/**
 * Servers that run their own etcd, as real `gantry server` processes (docs/ha.md, "Servers and
 * their etcd"): `--cluster-init` serves writes and keeps them over a restart; `--cluster-init`
 * again on its data dir is refused; `--force-new-cluster` on a copy of a server's data, and on the
 * survivor of a lost majority, brings the control plane back with it; a server whose member is
 * removed stops with `server_removed`, and refuses to start again.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { launchEtcd } from "../src/cluster/etcd-process.js";
import { readIdentity, writeIdentity } from "../src/cluster/identity.js";
import { localStatus } from "../src/cluster/local-status.js";
import { Membership } from "../src/cluster/membership.js";
import {
  clusterPorts,
  portFlags,
  runServerToExit,
  startClusterServer,
  type ClusterServer,
} from "./helpers/cluster-server.js";
import { runCli } from "./helpers/gantry.js";

const REMOVED =
  "this server was removed from the cluster (it was unreachable longer than --dead-server-cleanup); wipe DATA_DIR/etcd and DATA_DIR/cluster.json and join again: gantry server --join URL --join-token T";
const dirs: string[] = [];
const servers: ClusterServer[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "gantry-cluster-"));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, args: string[], ports: Parameters<typeof portFlags>[0]) {
  const s = await startClusterServer(dataDir, args, ports);
  servers.push(s);
  return s;
}

/** etcd refuses membership changes until its members were connected 5 s: try for 20 s. */
async function retry<T>(what: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await what();
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe("gantry server --cluster-init", () => {
  const dataDir = tempDir();
  let ports: Awaited<ReturnType<typeof clusterPorts>>;

  it("starts its own etcd, serves writes over HTTPS, keeps them over a restart", async () => {
    ports = await clusterPorts();
    const s = await start(dataDir, ["--cluster-init", "--name", "s1", ...portFlags(ports)], ports);
    expect(s.output()).toMatch(/API\s+https:\/\/127\.0\.0\.1/);
    expect(s.output()).toMatch(/store\s+etcd/);
    const id = readIdentity(dataDir)!;
    expect(id).toMatchObject({ name: "s1", clientUrl: `http://127.0.0.1:${ports.client}` });
    expect((await localStatus(id.clientUrl))?.clusterId).toBe(id.clusterId);
    const put = await s.cli(["kv", "put", "cfg/colour", "blue"]);
    expect(put.code, put.stderr).toBe(0);
    const etcdPid = Number(readFileSync(join(dataDir, "etcd.pid"), "utf8"));
    expect(await s.stop()).toBe(0);
    // its etcd stopped with it
    expect(existsSync(`/proc/${etcdPid}`)).toBe(false);

    // restart: no flags; cluster.json says which member and where
    const again = await start(dataDir, ["--api-addr", `127.0.0.1:${ports.api}`], ports);
    const got = await again.cli(["kv", "get", "cfg/colour"]);
    expect(got.stdout.trim()).toBe("blue");
    expect(readIdentity(dataDir)).toEqual(id);
    // a server SIGKILLed takes its etcd with it (parent-death signal)
    const pid2 = Number(readFileSync(join(dataDir, "etcd.pid"), "utf8"));
    await again.kill();
    await retry(async () => {
      if (existsSync(`/proc/${pid2}`)) throw new Error(`etcd ${pid2} still runs`);
    });
  });

  it("refuses --cluster-init on a data dir that belongs to a cluster", async () => {
    const r = await runServerToExit(dataDir, [
      "--cluster-init",
      ...portFlags(await clusterPorts()),
    ]);
    expect(r.code).not.toBe(0);
    const id = readIdentity(dataDir)!;
    expect(r.output).toContain(
      `${dataDir} belongs to cluster ${id.clusterId} (server s1); start it without --cluster-init to rejoin it, or remove ${dataDir} to make a new cluster`,
    );
  });

  it("--force-new-cluster on a copy of a server's data brings the control plane back with it", async () => {
    const copy = join(tempDir(), "copy");
    cpSync(dataDir, copy, { recursive: true });
    const s = await start(
      copy,
      ["--force-new-cluster", "--api-addr", `127.0.0.1:${ports.api}`],
      ports,
    );
    expect(s.output()).toMatch(
      /--force-new-cluster: this server's etcd is now a one-member cluster/,
    );
    const got = await s.cli(["kv", "get", "cfg/colour"]);
    expect(got.stdout.trim()).toBe("blue");
    const put = await s.cli(["kv", "put", "cfg/colour", "green"]);
    expect(put.code, put.stderr).toBe(0);
    expect(await s.stop()).toBe(0);
  });
});

describe("gantry server --join", () => {
  it("joins as a learner, is promoted, serves the cluster's data, and restarts without flags", async () => {
    const aDir = tempDir();
    const aPorts = await clusterPorts();
    const a = await start(aDir, ["--cluster-init", "--name", "a", ...portFlags(aPorts)], aPorts);
    expect((await a.cli(["kv", "put", "from", "a"])).code).toBe(0);
    const made = await a.cli(["join-tokens", "create", "--server"]);
    expect(made.code, made.stderr).toBe(0);
    const token = /^K10\S+/m.exec(made.stdout)![0];
    const bDir = tempDir();
    const bPorts = await clusterPorts();
    const b = await start(
      bDir,
      ["--join", a.url, "--join-token", token, "--name", "b", ...portFlags(bPorts)],
      bPorts,
    );
    // the cluster's CA and config key came with the join
    expect(readFileSync(join(bDir, "ca.crt"), "utf8")).toBe(
      readFileSync(join(aDir, "ca.crt"), "utf8"),
    );
    expect(readFileSync(join(bDir, "secret.key"), "utf8").trim()).toBe(
      readFileSync(join(aDir, "secret.key"), "utf8").trim(),
    );
    const env = { ...b.env(), GANTRY_TOKEN: a.env()["GANTRY_TOKEN"]! };
    expect((await runCli(["kv", "get", "from"], env)).stdout.trim()).toBe("a");
    const m = new Membership([`http://127.0.0.1:${aPorts.client}`]);
    try {
      await retry(async () => {
        const mb = (await m.list()).find((x) => x.name === "b");
        if (mb === undefined || mb.isLearner) throw new Error("not a voter yet");
      });
    } finally {
      m.close();
    }
    expect(readIdentity(bDir)).toMatchObject({
      name: "b",
      clusterId: readIdentity(aDir)!.clusterId,
    });
    expect(await b.stop()).toBe(0);
    const again = await start(bDir, ["--api-addr", `127.0.0.1:${bPorts.api}`], bPorts);
    expect((await runCli(["kv", "put", "from", "b"], env)).code).toBe(0);
    expect((await a.cli(["kv", "get", "from"])).stdout.trim()).toBe("b");
    expect(await again.stop()).toBe(0);
  });
});

describe("gantry server --force-new-cluster after a majority is lost for good", () => {
  it("brings the survivor back as a one-member cluster with the data", async () => {
    // Three members as three servers' data dirs would hold them; the data written while all ran.
    const ports = await Promise.all([0, 1, 2].map(() => clusterPorts()));
    const names = ["x", "y", "z"];
    const dataDirs = names.map(() => tempDir());
    const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i]!.peer}`).join(",");
    const members = await Promise.all(
      names.map((name, i) =>
        launchEtcd({
          dir: join(dataDirs[i]!, "etcd"),
          name,
          peerUrl: `http://127.0.0.1:${ports[i]!.peer}`,
          clientUrl: `http://127.0.0.1:${ports[i]!.client}`,
          initial: { cluster: initial, state: "new", token: `t-${initial}` },
          log: () => undefined,
        }),
      ),
    );
    const survivor = `http://127.0.0.1:${ports[0]!.client}`;
    const st = await retry(async () => {
      const s = await localStatus(survivor);
      return s !== undefined && s.leader !== "0" ? s : Promise.reject(new Error("no leader"));
    });
    writeIdentity(dataDirs[0]!, {
      clusterId: st.clusterId,
      memberId: st.memberId,
      name: "x",
      peerUrl: `http://127.0.0.1:${ports[0]!.peer}`,
      clientUrl: survivor,
      createdAt: new Date().toISOString(),
    });
    const put = await fetch(`${survivor}/v3/kv/put`, {
      method: "POST",
      body: JSON.stringify({ key: btoa("kv/kept"), value: btoa("yes") }),
    });
    expect(put.ok).toBe(true);
    await Promise.all(members.map((m) => m.stop()));
    // y and z are gone for good; x alone has no quorum, and is told so only by the flag
    const s = await start(
      dataDirs[0]!,
      ["--force-new-cluster", "--api-addr", `127.0.0.1:${ports[0]!.api}`],
      ports[0]!,
    );
    expect((await s.cli(["kv", "get", "kept"])).stdout.trim()).toBe("yes");
    // the same cluster, now of one member
    expect(readIdentity(dataDirs[0]!)?.clusterId).toBe(st.clusterId);
    const write = await s.cli(["kv", "put", "after", "force"]);
    expect(write.code, write.stderr).toBe(0);
    const m = new Membership([survivor]);
    try {
      expect((await m.list()).map((x) => x.name)).toEqual(["x"]);
    } finally {
      m.close();
    }
    expect(await s.stop()).toBe(0);
  });
});

describe("a server removed from the cluster", () => {
  it("stops with server_removed while it runs, and refuses to start again", async () => {
    const aDir = tempDir();
    const aPorts = await clusterPorts();
    const a = await start(aDir, ["--cluster-init", "--name", "a", ...portFlags(aPorts)], aPorts);
    const aClient = `http://127.0.0.1:${aPorts.client}`;
    // A second member "b", made by hand as a join would (a learner started on the cluster).
    const bDir = tempDir();
    const bPorts = await clusterPorts();
    const bPeer = `http://127.0.0.1:${bPorts.peer}`;
    const bClient = `http://127.0.0.1:${bPorts.client}`;
    const m = new Membership([aClient]);
    try {
      const added = await retry(() => m.addLearner(bPeer));
      const initial = [`a=http://127.0.0.1:${aPorts.peer}`, `b=${bPeer}`].join(",");
      const b = await launchEtcd({
        dir: join(bDir, "etcd"),
        name: "b",
        peerUrl: bPeer,
        clientUrl: bClient,
        initial: { cluster: initial, state: "existing" },
        log: () => undefined,
      });
      const st = await retry(async () => (await localStatus(bClient)) ?? Promise.reject());
      writeIdentity(bDir, {
        clusterId: st.clusterId,
        memberId: added.member.id,
        name: "b",
        peerUrl: bPeer,
        clientUrl: bClient,
        createdAt: new Date().toISOString(),
      });
      await b.stop();
      // b's server restarts its member from cluster.json, then the cluster removes it
      const bServer = await start(bDir, ["--api-addr", `127.0.0.1:${bPorts.api}`], bPorts);
      await retry(() => m.remove(added.member.id));
      expect(await bServer.exited, bServer.output()).toBe(1);
      expect(bServer.output()).toContain(REMOVED);
    } finally {
      m.close();
    }
    const r = await runServerToExit(bDir, ["--api-addr", `127.0.0.1:${bPorts.api}`]);
    expect(r.code, JSON.stringify(r)).toBe(1);
    expect(r.output).toContain(REMOVED);
    // the cluster it left goes on
    const put = await a.cli(["kv", "put", "still", "here"]);
    expect(put.code, put.stderr).toBe(0);
  });
});
