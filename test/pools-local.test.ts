/**
 * The `local` node provider against the provider contract, with real `gantry agent` processes
 * (bin/gantry, so the built dist/). Their server is away on purpose: an agent waiting to join
 * runs all the same, and joining is the pool controller's concern, not the provider's.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { saveState } from "../src/agent/apps/state.js";
import { ProcessDriver } from "../src/drivers/process/index.js";
import { providerContract } from "../src/pools/contract.js";
import { LocalProvider } from "../src/pools/local/index.js";
import { GANTRY_BIN } from "./helpers/gantry.js";
import { assignment } from "./helpers/agent-fixture.js";
import { startTestApi } from "./helpers/api.js";
import { sleep } from "./helpers/cli-processes.js";
import { freePort } from "./helpers/ports.js";
import { flagOf, createJoined, liveArgv } from "./helpers/pool-machines.js";

const root = mkdtempSync(join(tmpdir(), "gantry-pools-local-"));
const server = `http://127.0.0.1:${await freePort()}`;
afterAll(() => rmSync(root, { recursive: true, force: true }));
const newProvider = (): LocalProvider =>
  new LocalProvider({ root, gantry: [process.execPath, GANTRY_BIN], stopGraceMs: 5000 });

/** The node's agent as the host sees it: its pid runs `gantry agent` for that node in `root`. */
function agentRuns(pid: number, name: string): boolean {
  const argv = liveArgv(pid);
  return (
    argv !== undefined &&
    argv.includes("agent") &&
    flagOf(argv, "--node-name") === name &&
    flagOf(argv, "--data-dir") === join(root, name, "agent")
  );
}

providerContract({
  name: "local",
  newProvider,
  credentials: { server, nodeToken: "not-checked-while-the-server-is-away" },
  crash: (node) => {
    process.kill(Number(node.providerId), "SIGKILL");
    return Promise.resolve();
  },
  machineRuns: (node) => Promise.resolve(agentRuns(Number(node.providerId), node.name)),
  timeoutMs: 10_000,
});

describe("local provider: a node whose agent was killed", () => {
  it("has the instances its agent left running stopped by destroy, and only those", async () => {
    const provider = newProvider();
    const name = `left-${process.pid}`;
    const node = await provider.create({
      name,
      pool: "left",
      instance: 1,
      address: "10.100.9.1",
      credentials: { server, nodeToken: "unused" },
    });
    process.kill(Number(node.providerId), "SIGKILL");
    while ((await provider.describe(name))?.state !== "stopped") await sleep(20);
    // An instance the agent had started (the process driver's own mark), and a bystander.
    const driver = new ProcessDriver();
    const a = assignment("app", name, "a".repeat(64));
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin" };
    const task = { cwd: root, command: "sleep 30", env, logFile: join(root, `${a.id}.log`) };
    const instance = await driver.start({ ...task, id: a.id });
    const bystander = await driver.start({ ...task, id: "not-in-state" });
    const agentDir = join(root, name, "agent");
    mkdirSync(agentDir, { recursive: true });
    saveState(join(agentDir, "state.json"), name, {
      instances: [{ assignment: a, handle: instance, restarts: 0, logOffset: 0 }],
      releasedPorts: [],
    });
    try {
      await provider.destroy(name);
      expect((await driver.inspect(instance)).running).toBe(false);
      expect((await driver.inspect(bystander)).running).toBe(true);
    } finally {
      await driver.stop(instance, 100);
      await driver.stop(bystander, 100);
    }
    expect(await provider.describe(name)).toBeUndefined();
  });
});

describe("local provider: a node joins a real server", () => {
  it("joins under its name, with its node token, and is gone from the machine once destroyed", async () => {
    const t = await startTestApi();
    const provider = newProvider();
    const name = `joins-${process.pid}`;
    try {
      const { node, secret, record } = await createJoined(t, provider, {
        name,
        pool: "joins",
        instance: 3,
        address: "10.100.7.3",
      });
      expect(record?.name).toBe(name);
      // The token lives in the node's directory, never on its command line.
      const argv = readFileSync(`/proc/${node.providerId}/cmdline`, "utf8");
      expect(argv).not.toContain(secret);
      expect(argv).toContain("127.100.7.3");
      await provider.destroy(name);
      expect(agentRuns(Number(node.providerId), name)).toBe(false);
    } finally {
      await provider.destroy(name);
      await t.close();
    }
  });
});

describe("local provider: a frozen node", () => {
  it("is destroyed well within the stop grace: its agent is woken to act on SIGTERM", async () => {
    const provider = newProvider(); // stop grace 5 s
    const name = `frozen-${process.pid}`;
    const node = await provider.create({
      name,
      pool: "frozen",
      instance: 4,
      address: "10.100.7.4",
      credentials: { server, nodeToken: "not-checked-while-the-server-is-away" },
    });
    try {
      process.kill(Number(node.providerId), "SIGSTOP");
      const started = Date.now();
      await provider.destroy(name);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(agentRuns(Number(node.providerId), name)).toBe(false);
    } finally {
      await provider.destroy(name);
    }
  });
});
