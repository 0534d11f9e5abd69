/**
 * The contract every runtime driver keeps (process, docker; sandbox later), as one vitest
 * suite: `driverContract({ name, newDriver })` in a driver's test file runs all of it.
 *
 * It holds for a task in its own pid namespace too: a child is recognised by its command line
 * (unique per test) as the host sees it, never by a pid the task itself printed.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Driver, TaskHandle, TaskSpec } from "./driver.js";

export interface ContractOptions {
  name: string;
  /** A fresh driver; a second one stands for the same driver in a restarted agent. */
  newDriver: () => Driver;
  /** Extra environment the driver's tasks need (e.g. PATH). */
  env?: Record<string, string>;
  /** Extra fields for every TaskSpec (e.g. a container driver's image or user). */
  spec?: Partial<TaskSpec>;
}

/** Poll until `probe` holds, or fail naming what did not happen. */
async function eventually(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

/** Live processes whose command line is exactly `argv`, as the host sees them. */
function running(argv: string[]): number[] {
  const want = argv.join("\0") + "\0";
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8") === want && alive(pid);
      } catch {
        return false;
      }
    });
}

/** A sleep only this test runs: `sleep 30.<unique digits>`. */
const uniqueSleep = (): string[] => ["sleep", `30.${process.pid}${Date.now() % 100000}`];

export function driverContract(opts: ContractOptions): void {
  describe(`driver contract: ${opts.name}`, () => {
    const root = mkdtempSync(join(tmpdir(), `gantry-driver-${opts.name}-`));
    // Readable by others, like an unpacked app: a task may run as another user than the agent.
    chmodSync(root, 0o755);
    // The agent's own environment, which must not reach a task.
    const AGENT_ONLY = "GANTRY_CONTRACT_AGENT_ONLY";
    const started: { driver: Driver; handle: TaskHandle }[] = [];
    let n = 0;

    const spec = (command: string, env: Record<string, string> = {}): TaskSpec => {
      const id = `task-${++n}`;
      return {
        id,
        cwd: root,
        command,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...opts.env, ...env },
        logFile: join(root, `${id}.log`),
        ...opts.spec,
      };
    };
    const start = async (driver: Driver, s: TaskSpec): Promise<TaskHandle> => {
      const handle = await driver.start(s);
      started.push({ driver, handle });
      return handle;
    };
    const log = (s: TaskSpec): string => {
      try {
        return readFileSync(s.logFile, "utf8");
      } catch {
        return "";
      }
    };

    afterEach(async () => {
      for (const { driver, handle } of started.splice(0)) await driver.stop(handle, 100);
    });
    afterAll(() => {
      delete process.env[AGENT_ONLY];
      rmSync(root, { recursive: true, force: true });
    });

    it("runs the command in its directory with exactly its environment, output to the log file", async () => {
      process.env[AGENT_ONLY] = "leaked";
      const driver = opts.newDriver();
      const s = spec(`echo "out $GREETING $(pwd)"; echo "err $${AGENT_ONLY}" >&2; sleep 30`, {
        GREETING: "hi",
      });
      const handle = await start(driver, s);
      expect(handle.id).toBe(s.id);
      expect(await driver.inspect(handle)).toEqual({ running: true, pid: handle.pid });
      await eventually("both lines", () => log(s).includes("err"));
      expect(log(s)).toContain(`out hi ${root}`);
      // Set for the agent, not given to the task: nothing leaks from the agent.
      expect(log(s)).toMatch(/^err $/m);
    });

    it("reports the exit code when the task ends by itself", async () => {
      const driver = opts.newDriver();
      const handle = await start(driver, spec("echo bye; exit 3"));
      expect(await driver.wait(handle)).toEqual({ exitCode: 3, signal: null });
      expect((await driver.inspect(handle)).running).toBe(false);
    });

    it("appends to the log file rather than truncating it", async () => {
      const driver = opts.newDriver();
      const s = spec("echo first");
      await driver.wait(await start(driver, s));
      await driver.wait(await start(driver, { ...s, command: "echo second" }));
      expect(log(s)).toBe("first\nsecond\n");
    });

    it("stops with SIGTERM, which the task may handle", async () => {
      const driver = opts.newDriver();
      const s = spec(
        "trap 'echo got TERM; exit 0' TERM; echo ready; while true; do sleep 0.05; done",
      );
      const handle = await start(driver, s);
      await eventually("ready", () => log(s).includes("ready"));
      const t0 = Date.now();
      const exit = await driver.stop(handle, 5000);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(exit.exitCode).toBe(0);
      expect(log(s)).toContain("got TERM");
      expect(alive(handle.pid)).toBe(false);
    });

    it("lets the app finish on SIGTERM even when the shell that started it ends first", async () => {
      const driver = opts.newDriver();
      // The Procfile shell waits for its command; on SIGTERM it dies at once, the app does not.
      const s = spec(
        `sh -c 'trap "sleep 0.3; echo app done; exit 0" TERM; echo ready; while true; do sleep 0.05; done'`,
      );
      const handle = await start(driver, s);
      await eventually("ready", () => log(s).includes("ready"));
      await driver.stop(handle, 5000);
      expect(log(s)).toContain("app done");
    });

    it("kills with SIGKILL after the grace period when SIGTERM is ignored", async () => {
      const driver = opts.newDriver();
      const s = spec("trap '' TERM; echo ready; while true; do sleep 0.05; done");
      const handle = await start(driver, s);
      await eventually("ready", () => log(s).includes("ready"));
      const t0 = Date.now();
      const exit = await driver.stop(handle, 700);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(650);
      expect(took).toBeLessThan(3000);
      expect(exit.signal).toBe("SIGKILL");
      expect(alive(handle.pid)).toBe(false);
    });

    it("stops the whole task, children included", async () => {
      const driver = opts.newDriver();
      const child = uniqueSleep();
      const handle = await start(driver, spec(`${child.join(" ")} & echo child; wait`));
      await eventually("child running", () => running(child).length === 1);
      await driver.stop(handle, 2000);
      await eventually("child gone", () => running(child).length === 0, 2000);
    });

    it("ends what the main process left behind when it exits", async () => {
      const driver = opts.newDriver();
      const child = uniqueSleep();
      const handle = await start(driver, spec(`${child.join(" ")} & sleep 0.5; exit 1`));
      await eventually("child running", () => running(child).length === 1);
      expect((await driver.wait(handle)).exitCode).toBe(1);
      await eventually("leftover gone", () => running(child).length === 0, 2000);
    });

    it("runs apart from the agent: its own process group", async () => {
      const driver = opts.newDriver();
      const handle = await start(driver, spec("sleep 30"));
      const pgrp = (pid: number) =>
        Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]);
      expect(pgrp(handle.pid)).not.toBe(pgrp(process.pid));
    });

    it("is adopted by a new driver (a restarted agent): inspect, wait and stop work on it", async () => {
      const first = opts.newDriver();
      const s = spec("echo up; while true; do echo tick; sleep 0.1; done");
      const handle = await start(first, s);
      const later = opts.newDriver();
      expect(await later.recover(handle)).toBe(true);
      expect(await later.inspect(handle)).toEqual({ running: true, pid: handle.pid });
      const before = log(s).length;
      await eventually("more output", () => log(s).length > before);
      let ended = false;
      const waiting = later.wait(handle).then(() => (ended = true));
      await later.stop(handle, 2000);
      await waiting;
      expect(ended).toBe(true);
      expect(alive(handle.pid)).toBe(false);
    });

    it("notices an adopted task that is killed from outside", async () => {
      const handle = await start(opts.newDriver(), spec("sleep 30"));
      const later = opts.newDriver();
      expect(await later.recover(handle)).toBe(true);
      process.kill(handle.pid, "SIGKILL");
      await later.wait(handle);
      expect((await later.inspect(handle)).running).toBe(false);
    });

    it("refuses to adopt a dead task or another instance's process", async () => {
      const driver = opts.newDriver();
      const dead = await start(driver, spec("exit 0"));
      await driver.wait(dead);
      const later = opts.newDriver();
      expect(await later.recover(dead)).toBe(false);
      const other = await start(driver, spec("sleep 30"));
      expect(await later.recover({ ...other, id: "someone-else" })).toBe(false);
      // Not adopted, so not touched: stopping it through the wrong id leaves it running.
      await later.stop({ ...other, id: "someone-else" }, 100);
      expect(alive(other.pid)).toBe(true);
      expect(await later.recover({ ...other, pid: process.pid })).toBe(false);
    });

    it("fails to start in a directory that does not exist", async () => {
      const driver = opts.newDriver();
      await expect(driver.start({ ...spec("true"), cwd: join(root, "missing") })).rejects.toThrow();
    });
  });
}
