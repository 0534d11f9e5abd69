/** The supervised etcd process on real etcd: start, stop, restart on its data, removal. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../test/helpers/ports.js";
import { etcdArgs, type EtcdLaunch } from "./etcd-args.js";
import { etcdFiles, launchEtcd, type SupervisedEtcd } from "./etcd-process.js";
import { ServerRemovedError } from "./errors.js";
import { Membership } from "./membership.js";

const dirs: string[] = [];
const started: SupervisedEtcd[] = [];
afterAll(async () => {
  await Promise.all(started.map((e) => e.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function member(name: string): Promise<EtcdLaunch> {
  const dataDir = mkdtempSync(join(tmpdir(), "gantry-etcdp-"));
  dirs.push(dataDir);
  return {
    dir: join(dataDir, "etcd"),
    name,
    peerUrl: `http://127.0.0.1:${await freePort()}`,
    clientUrl: `http://127.0.0.1:${await freePort()}`,
    log: () => undefined,
  };
}

/** Remove member `name`; etcd refuses ("unhealthy cluster") until its peers were connected 5 s. */
async function removeMember(endpoint: string, name: string): Promise<void> {
  const m = new Membership([endpoint]);
  try {
    const id = (await m.list()).find((x) => x.name === name)!.id;
    for (let i = 0; ; i++) {
      try {
        await m.remove(id);
        return;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    m.close();
  }
}

async function launch(l: EtcdLaunch): Promise<SupervisedEtcd> {
  const e = await launchEtcd(l);
  started.push(e);
  return e;
}

describe("etcdArgs", () => {
  it("passes the initial cluster, a token only for a new one, and --force-new-cluster", () => {
    const base = {
      dir: "/d/etcd",
      name: "a",
      peerUrl: "http://h:2380",
      clientUrl: "http://h:2379",
      log: () => undefined,
    };
    const fresh = etcdArgs({
      ...base,
      initial: { cluster: "a=http://h:2380", state: "new", token: "tok" },
    });
    expect(fresh).toContain("--initial-cluster=a=http://h:2380");
    expect(fresh).toContain("--initial-cluster-token=tok");
    const join = etcdArgs({ ...base, initial: { cluster: "a=x,b=y", state: "existing" } });
    expect(join).toContain("--initial-cluster-state=existing");
    expect(join.some((a) => a.startsWith("--initial-cluster-token"))).toBe(false);
    expect(etcdArgs(base)).not.toContain("--force-new-cluster");
    expect(etcdArgs({ ...base, forceNewCluster: true })).toContain("--force-new-cluster");
  });
});

describe("launchEtcd", () => {
  it("starts, writes its pid file and log, stops, and starts again on its data", async () => {
    const l = await member("solo");
    const e = await launch({ ...l, initial: { cluster: `solo=${l.peerUrl}`, state: "new" } });
    const files = etcdFiles(l.dir);
    expect(Number(readFileSync(files.pid, "utf8"))).toBe(e.pid);
    await fetch(`${l.clientUrl}/v3/kv/put`, {
      method: "POST",
      body: JSON.stringify({ key: btoa("k"), value: btoa("v") }),
    });
    await e.stop();
    const exit = await e.exited;
    expect(exit.removed).toBe(false);
    expect(e.pid).toBeUndefined();
    expect(existsSync(files.pid)).toBe(false);
    expect(readFileSync(files.log, "utf8")).toContain("solo");
    const again = await launch(l);
    const res = await fetch(`${l.clientUrl}/v3/kv/range`, {
      method: "POST",
      body: JSON.stringify({ key: btoa("k") }),
    });
    const body = (await res.json()) as { kvs?: { value: string }[] };
    expect(atob(body.kvs?.[0]?.value ?? "")).toBe("v");
    await again.stop();
  });

  it("stops an etcd a previous run left on its data dir (by its pid file) before starting", async () => {
    const l = await member("left");
    const lines: string[] = [];
    const orphan = await launch({ ...l, initial: { cluster: `left=${l.peerUrl}`, state: "new" } });
    const orphanPid = orphan.pid;
    const again = await launch({ ...l, log: (line) => lines.push(line) });
    expect(await orphan.exited).toMatchObject({ signal: "SIGTERM" });
    expect(lines.join("\n")).toContain(`stopping the etcd (pid ${orphanPid}) a previous run left`);
    expect(again.pid).not.toBe(undefined);
    await again.stop();
  });

  it("fails with the log's tail when etcd cannot start", async () => {
    const l = await member("bad");
    await expect(launchEtcd({ ...l, peerUrl: "http://256.1.1.1:1" })).rejects.toThrow(
      /etcd \(member bad\)/,
    );
  });

  it("a member removed while it was stopped: exits on start with ServerRemovedError", async () => {
    const ls = await Promise.all(["a", "b", "c"].map(member));
    const cluster = ls.map((l) => `${l.name}=${l.peerUrl}`).join(",");
    const es = await Promise.all(
      ls.map((l) => launch({ ...l, initial: { cluster, state: "new", token: `t-${cluster}` } })),
    );
    await es[2]!.stop();
    await removeMember(ls[0]!.clientUrl, "c");
    await expect(launchEtcd(ls[2]!)).rejects.toBeInstanceOf(ServerRemovedError);
    // removed while it runs: it exits, and says why
    await removeMember(ls[0]!.clientUrl, "b");
    expect(await es[1]!.exited).toMatchObject({ removed: true });
  });
});
