/**
 * The pool controller driving each real provider (issue 14): a 2-node pool on `docker` (real
 * containers on the real engine), on `ssh` (real sshd on 127.100.6.1-2, one HOME each, the
 * one-file agent from the built dist/) and on `exec` (test/fixtures/exec-pool.mjs, whose
 * machines are real agents), each run by its own real server in-process through the pools API.
 * Both nodes join with their pool and address as labels; one machine killed from outside is
 * made again under its name and address within repairAfter (2 s) + 10 s; the pool deleted, no
 * machine is left and the record is gone. Each server's leftovers are destroyed afterwards by
 * a fresh provider object, as a restarted server would find them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogClient } from "../src/client/catalog.js";
import { GantryClient } from "../src/client/client.js";
import { PoolsClient } from "../src/client/pools.js";
import { dockerEngine } from "../src/docker/engine.js";
import { PoolSpecSchema, type PoolSpec, type PoolView } from "../src/model/pool.js";
import { DockerProvider } from "../src/pools/docker/index.js";
import { ExecProvider } from "../src/pools/exec/index.js";
import type { NodeProvider, PoolNode } from "../src/pools/provider.js";
import { SshProvider } from "../src/pools/ssh/index.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { GANTRY_BIN } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";
import { startSshAddresses, type SshAddresses } from "./helpers/sshd-addresses.js";
import { until } from "./helpers/pool-machines.js";

const gantry = [process.execPath, GANTRY_BIN];
const secs = (t0: number): string => ((Date.now() - t0) / 1000).toFixed(1);

/** A process that runs (not a zombie). */
function pidRuns(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

/** What differs between providers; the scenario is the same for each. */
interface ProviderCase {
  provider: "docker" | "ssh" | "exec";
  /** The pool's name (its nodes are POOL-1, POOL-2): unique on this machine (docker's are global). */
  pool: string;
  /** Start what the machines need (sshd); runs before the server. */
  setup?: () => Promise<void>;
  /** The pool's `docker:` / `ssh:` / `exec:` section. */
  settings: () => Partial<PoolSpec>;
  /** Server options for this provider. */
  sshRoot?: string;
  /** A provider object of its own, as a restarted server would make. */
  fresh: () => NodeProvider;
  /** Kill the machine from outside, as a crash would. */
  kill: (node: PoolNode) => Promise<void>;
  /** The machine runs, as seen from outside the provider. */
  runs: (node: PoolNode) => Promise<boolean>;
  cleanup?: () => Promise<void>;
}

function poolScenario(c: ProviderCase): void {
  describe(`${c.provider}: a pool driven by the pool controller on a real server`, () => {
    const name = c.pool;
    let dir: string | undefined;
    let server: RunningServer | undefined;
    let pools: PoolsClient;
    let catalog: CatalogClient;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `gantry-pools-${c.provider}-`));
      await c.setup?.();
      server = await startServer({
        dataDir: join(dir, "data"),
        apiHost: "127.0.0.1",
        apiPort: await freePort(),
        registry: false,
        pools: {
          gantry,
          pollMs: 250,
          ...(c.sshRoot === undefined ? {} : { sshRoot: c.sshRoot }),
        },
        log: () => undefined,
      });
      const admin = new GantryClient({ addr: server.url, token: server.adminToken });
      pools = new PoolsClient(admin);
      catalog = new CatalogClient(admin);
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      // The server stopped; its machines run on (a restarted server would find them): end them.
      try {
        const provider = c.fresh();
        for (const n of await provider.list(name)) await provider.destroy(n.name);
      } finally {
        await c.cleanup?.();
        if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);

    const readyPool = async (): Promise<PoolView | undefined> => {
      const p = await pools.get(name);
      return p?.status?.ready === 2 && p.status.nodes.length === 2 ? p : undefined;
    };

    it("makes two nodes that join with their pool and address as labels", async () => {
      await pools.setAddressPlan({
        pattern: "10.{location}.{type}.{instance}",
        locations: { "nz-por-1": 100 },
        types: { web: 6 },
      });
      const spec = PoolSpecSchema.parse({
        provider: c.provider,
        size: 2,
        location: "nz-por-1",
        type: "web",
        repairAfter: "2s",
        ...c.settings(),
      });
      await pools.put(name, spec);
      const t0 = Date.now();
      const pool = await until("2 nodes ready", 90_000, readyPool);
      console.log(`pools providers: 2 ${c.provider} nodes ready in ${secs(t0)}s`);
      expect(pool.status!.nodes.map((n) => `${n.name} ${n.address} ${n.phase}`)).toEqual([
        `${name}-1 10.100.6.1 ready`,
        `${name}-2 10.100.6.2 ready`,
      ]);
      const nodes = (await catalog.nodes()).filter((n) => n.name.startsWith(`${name}-`));
      expect(
        nodes.map((n) => `${n.name} ${n.labels?.["pool"]} ${n.labels?.["address"]}`).sort(),
      ).toEqual([`${name}-1 ${name} 10.100.6.1`, `${name}-2 ${name} 10.100.6.2`]);
      const machines = await c.fresh().list(name);
      expect(machines.map((m) => `${m.name} ${m.address} ${m.state}`)).toEqual([
        `${name}-1 10.100.6.1 running`,
        `${name}-2 10.100.6.2 running`,
      ]);
      for (const m of machines) expect(await c.runs(m)).toBe(true);
    }, 120_000);

    it("makes a machine killed from outside again under its name and address", async () => {
      const node = `${name}-2`;
      const before = (await pools.get(name))!.status!.nodes.find((n) => n.name === node)!;
      const machine = (await c.fresh().describe(node))!;
      const t0 = Date.now();
      await c.kill(machine);
      await until("the machine dead", 5000, async () =>
        (await c.runs(machine)) ? undefined : true,
      );
      // Ready again, newer, and made as a repair ("again": the create knew it was one — a round
      // planning on a store view older than the destroy once made it a plain retry), the create
      // done (exec's create reads the machine back through `list`: its agent may join first).
      const done = new RegExp(`^created ${node} \\(10\\.100\\.6\\.2\\) again`);
      let seen: PoolView | undefined;
      const again = await until("the killed node made again and ready", 12_000, async () => {
        const p = (seen = await pools.get(name));
        if (p?.status?.ready !== 2) return undefined;
        const n = p.status.nodes.find((x) => x.name === node);
        const made = n !== undefined && n.createdAt! > before.createdAt!;
        return made && done.test(p.status.lastEvent?.message ?? "") ? n : undefined;
      }).catch((err: Error) => {
        throw new Error(`${err.message}; the pool: ${JSON.stringify(seen?.status)}`);
      });
      console.log(`pools providers: ${c.provider} ${node} made again and ready in ${secs(t0)}s`);
      expect(again).toMatchObject({ address: "10.100.6.2", phase: "ready" });
      const now = (await c.fresh().describe(node))!;
      expect(now.providerId).not.toBe(machine.providerId);
      expect(now).toMatchObject({ address: "10.100.6.2", state: "running" });
      expect(await c.runs(now)).toBe(true);
      // The other node was left alone.
      const other = (await c.fresh().describe(`${name}-1`))!;
      expect(await c.runs(other)).toBe(true);
      const labels = (await catalog.nodes()).find((n) => n.name === node)?.labels;
      expect(labels).toMatchObject({ pool: name, address: "10.100.6.2" });
    }, 20_000);

    it("destroys every machine and forgets the pool when it is deleted", async () => {
      const machines = await c.fresh().list(name);
      expect(machines).toHaveLength(2);
      const t0 = Date.now();
      await pools.delete(name);
      await until("pool gone", 45_000, async () =>
        (await pools.get(name)) === undefined ? true : undefined,
      );
      console.log(`pools providers: ${c.provider} pool deleted in ${secs(t0)}s`);
      expect(await c.fresh().list(name)).toEqual([]);
      for (const m of machines) expect(await c.runs(m)).toBe(false);
    }, 60_000);
  });
}

// docker: containers on the engine at the local socket, the default node image.
const engine = dockerEngine();
poolScenario({
  provider: "docker",
  pool: `dk${process.pid}`,
  settings: () => ({ docker: {} }),
  fresh: () => new DockerProvider({ engine, stopGraceMs: 5000 }),
  kill: async (node) => {
    await engine.getContainer(node.providerId).kill({ signal: "SIGKILL" });
  },
  runs: async (node) => {
    try {
      return (await engine.getContainer(node.providerId).inspect()).State.Running;
    } catch {
      return false;
    }
  },
});

// ssh: two hosts on loopback, one sshd, a HOME each; the root is relative (under each HOME), so
// the hosts, all of them this machine, keep their nodes apart.
let ssh: SshAddresses | undefined;
const sshRoot = `pools-${process.pid}`;
const sshSettings = () => ({
  user: "root",
  port: ssh!.port,
  identityFile: ssh!.identityFile,
  options: ssh!.options,
  hosts: ["127.100.6.1", "127.100.6.2"],
});
/** ssh's providerId is HOST:PID; the hosts are this machine. */
const sshPid = (node: PoolNode): number => Number(node.providerId.split(":")[1]);
poolScenario({
  provider: "ssh",
  pool: "sshweb",
  setup: async () => {
    if (!existsSync(resolve("dist/gantry-agent.mjs"))) throw new Error("npm run build first");
    ssh = await startSshAddresses([["127.100.6.1", "127.100.6.2"]]);
  },
  settings: () => ({ ssh: sshSettings() }),
  sshRoot,
  fresh: () => new SshProvider(sshSettings(), { root: sshRoot, stopGraceMs: 5000 }),
  kill: (node) => {
    process.kill(sshPid(node), "SIGKILL");
    return Promise.resolve();
  },
  runs: (node) => Promise.resolve(pidRuns(sshPid(node))),
  cleanup: async () => ssh?.cleanup(),
});

// exec: the fixture's "cloud" is a directory whose machines are local agent processes.
const FIXTURE = resolve(import.meta.dirname, "fixtures/exec-pool.mjs");
let cloud: string | undefined;
const execSettings = () => ({
  create: [process.execPath, FIXTURE, "create", cloud!],
  destroy: [process.execPath, FIXTURE, "destroy", cloud!],
  list: [process.execPath, FIXTURE, "list", cloud!],
  timeout: "1m",
});
const execPid = (node: PoolNode): number => Number(node.providerId.replace(/^pid-/, ""));
poolScenario({
  provider: "exec",
  pool: "execweb",
  setup: () => {
    cloud = mkdtempSync(join(tmpdir(), "gantry-pools-exec-cloud-"));
    return Promise.resolve();
  },
  settings: () => ({ exec: execSettings() }),
  fresh: () => new ExecProvider(execSettings()),
  kill: (node) => {
    process.kill(execPid(node), "SIGKILL");
    return Promise.resolve();
  },
  runs: (node) => Promise.resolve(pidRuns(execPid(node))),
  cleanup: () => {
    if (cloud !== undefined) rmSync(cloud, { recursive: true, force: true });
    return Promise.resolve();
  },
});
