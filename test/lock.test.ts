/**
 * `gantry lock` as users run it: `gantry up` and several `gantry lock` processes, real commands.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { GANTRY_BIN, startGantry, type CliResult, type GantryProcess } from "./helpers/gantry.js";

let dir: string;
/** A command that appends "LABEL start MS" / "LABEL end MS" to a file around a sleep. */
let worker: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-lock-test-"));
  worker = join(dir, "worker.mjs");
  writeFileSync(
    worker,
    `import { appendFileSync, writeFileSync } from "node:fs";
const [file, label, ms, code, pidFile] = process.argv.slice(2);
if (pidFile) writeFileSync(pidFile, String(process.pid));
appendFileSync(file, label + " start " + Date.now() + "\\n");
setTimeout(() => {
  appendFileSync(file, label + " end " + Date.now() + "\\n");
  process.exit(Number(code ?? 0));
}, Number(ms));
`,
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Interval {
  label: string;
  start: number;
  end: number;
}

function intervals(file: string): Interval[] {
  const byLabel = new Map<string, Partial<Interval>>();
  for (const line of readFileSync(file, "utf8").trim().split("\n")) {
    const [label, what, ms] = line.split(" ");
    const iv = byLabel.get(label!) ?? { label: label! };
    iv[what as "start" | "end"] = Number(ms);
    byLabel.set(label!, iv);
  }
  return [...byLabel.values()].map((iv) => iv as Interval).sort((a, b) => a.start - b.start);
}

/** Start `gantry lock` as a process we can signal; resolves its result when it exits. */
function lockProcess(
  g: GantryProcess,
  args: string[],
): {
  child: ChildProcess;
  stderr: () => string;
  done: Promise<CliResult>;
  /** Resolves at exit, even while an orphaned grandchild still holds the output pipes. */
  exited: Promise<void>;
} {
  const child = spawn(process.execPath, [GANTRY_BIN, "lock", ...args], {
    env: { ...process.env, NO_COLOR: "1", ...g.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }),
    ),
  );
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return { child, stderr: () => stderr, done, exited };
}

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function neverOverlap(g: GantryProcess, tag: string): Promise<void> {
  const file = join(dir, `overlap-${tag}.log`);
  const rounds = 3;
  const results: CliResult[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = await Promise.all(
      ["a", "b", "c"].map((who) =>
        g.cli(["lock", "shared", "--", process.execPath, worker, file, `${who}${round}`, "300"]),
      ),
    );
    results.push(...batch);
  }
  expect(results.map((r) => r.code)).toEqual(Array(rounds * 3).fill(0));
  // They really contended: most runs had to wait for the lock.
  const waited = results.filter((r) => r.stderr.includes("waiting for lock shared…"));
  expect(waited.length).toBeGreaterThanOrEqual(rounds);
  const ivs = intervals(file);
  expect(ivs).toHaveLength(rounds * 3);
  for (let i = 1; i < ivs.length; i++) {
    expect(
      ivs[i]!.start,
      `${ivs[i]!.label} started before ${ivs[i - 1]!.label} ended`,
    ).toBeGreaterThanOrEqual(ivs[i - 1]!.end);
  }
  // The lock key is gone once everyone is done.
  expect((await g.cli(["kv", "get", "locks/shared"])).code).not.toBe(0);
}

async function killedHolderFreesAfterTtl(g: GantryProcess, tag: string): Promise<void> {
  const file = join(dir, `killed-${tag}.log`);
  const pidFile = join(dir, `orphan-${tag}.pid`);
  const holder = lockProcess(g, [
    "killme",
    "--ttl",
    "2s",
    "--",
    process.execPath,
    worker,
    file,
    "holder",
    "60000",
    "0",
    pidFile,
  ]);
  await until(() => existsSync(file) && readFileSync(file, "utf8").includes("holder start"));
  const waiter = lockProcess(g, ["killme", "--", process.execPath, worker, file, "waiter", "10"]);
  await until(() => waiter.stderr().includes("waiting for lock killme…"));

  const killedAt = Date.now();
  holder.child.kill("SIGKILL");
  await holder.exited;
  const res = await waiter.done;
  // The holder's command outlives it (nothing can release for it); stop it ourselves.
  process.kill(Number(readFileSync(pidFile, "utf8")), "SIGKILL");

  expect(res.code).toBe(0);
  const waiterStart = intervals(file).find((iv) => iv.label === "waiter")!.start;
  // Renewed at most ttl/3 before the kill, so the lease lasts at least 2/3 of the TTL more.
  expect(waiterStart - killedAt).toBeGreaterThanOrEqual(1200);
  expect(waiterStart - killedAt).toBeLessThan(5000);
}

describe("gantry lock (embedded store)", () => {
  let g: GantryProcess;
  beforeAll(async () => {
    g = await startGantry();
  });
  afterAll(async () => {
    await g?.cleanup();
  });

  it("never lets two holders run at once", () => neverOverlap(g, "up"));

  it("frees a SIGKILLed holder's lock after the TTL, and the waiter then runs", () =>
    killedHolderFreesAfterTtl(g, "up"));

  it("propagates the command's exit code and output", async () => {
    const res = await g.cli([
      "lock",
      "codes",
      "--",
      process.execPath,
      "-e",
      "console.log('hi'); process.exit(7)",
    ]);
    expect(res.code).toBe(7);
    expect(res.stdout).toBe("hi\n");
    const missing = await g.cli(["lock", "codes", "--", "/nonexistent/command"]);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/cannot run "\/nonexistent\/command"/);
  });

  it("stops the command and exits non-zero when the session is lost", async () => {
    const file = join(dir, "lost.log");
    const run = lockProcess(g, [
      "lost",
      "--ttl",
      "2s",
      "--",
      process.execPath,
      worker,
      file,
      "w",
      "30000",
    ]);
    await until(() => existsSync(file));
    const entry = JSON.parse((await g.cli(["kv", "get", "locks/lost", "--json"])).stdout) as {
      session: string;
    };
    const destroyed = await fetch(`${g.url}/v1/sessions/${entry.session}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${g.token}` },
    });
    expect(destroyed.status).toBe(200);
    const res = await run.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/lost lock lost: .*stopping/);
    expect(readFileSync(file, "utf8")).not.toMatch(/w end/);
  });

  it("gives up after --timeout with a clear message", async () => {
    const file = join(dir, "timeout.log");
    const holder = lockProcess(g, ["busy", "--", process.execPath, worker, file, "h", "20000"]);
    await until(() => existsSync(file));
    const t0 = Date.now();
    const res = await g.cli(["lock", "busy", "--timeout", "500ms", "--", "true"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/timed out after 500ms waiting for lock busy/);
    expect(Date.now() - t0).toBeLessThan(6000);

    // Ctrl-C while waiting: exit 130, and the waiter's session is gone with it.
    const waiter = lockProcess(g, ["busy", "--", "true"]);
    await until(() => waiter.stderr().includes("waiting for lock busy…"));
    waiter.child.kill("SIGINT");
    expect((await waiter.done).code).toBe(130);
    const sessions = (await (
      await fetch(`${g.url}/v1/sessions`, { headers: { authorization: `Bearer ${g.token}` } })
    ).json()) as { name: string }[];
    expect(sessions.filter((s) => s.name === "locks/busy")).toHaveLength(1);

    holder.child.kill("SIGTERM");
    expect((await holder.done).code).toBe(143);
  });

  it("refuses bad options naming them", async () => {
    const res = await g.cli(["lock", "x", "--ttl", "0s", "--", "true"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--ttl/);
    const bad = await g.cli(["lock", "x", "--timeout", "soon", "--", "true"]);
    expect(bad.stderr).toMatch(/--timeout/);
  });
});

describe("gantry lock (etcd store)", () => {
  let etcd: EtcdServer;
  let g: GantryProcess;
  beforeAll(async () => {
    etcd = await startEtcd();
    const hostPort = etcd.endpoints[0]!.replace(/^https?:\/\//, "");
    g = await startGantry({ mode: "server", store: `etcd://${hostPort}` });
  });
  afterAll(async () => {
    await g?.cleanup();
    await etcd?.cleanup();
  });

  it("never lets two holders run at once", () => neverOverlap(g, "etcd"));

  it("frees a SIGKILLed holder's lock after the TTL, and the waiter then runs", () =>
    killedHolderFreesAfterTtl(g, "etcd"));
});
