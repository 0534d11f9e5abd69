/**
 * `gantry agent` as a process of its own joining a server: it runs the node's instances, leaves
 * them running when stopped (a new agent adopts them), and stops them with --stop-instances.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogClient } from "../src/client/catalog.js";
import type { InstanceStatus } from "../src/model/app.js";
import { agentPolicies } from "../src/model/policies.js";
import { assignment, instanceStatus, putAssignment, seedApp } from "./helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "./helpers/api.js";

const ENTRY = resolve(import.meta.dirname, "fixtures/gantry-src.ts");
const NODE = "remote-1";
const APP = "far";

let t: TestApi;
let dir: string;
let tokenFile: string;
let artifact: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  t = await startTestApi();
  dir = mkdtempSync(join(tmpdir(), "gantry-agent-cli-"));
  ({ artifact } = await seedApp(t, APP));
  const { secret } = await t.clientWith(agentPolicies(NODE), `agent-${NODE}`);
  tokenFile = join(dir, "agent.token");
  writeFileSync(tokenFile, secret + "\n", { mode: 0o600 });
});

afterAll(async () => {
  for (const p of started) if (p.exitCode === null) p.kill("SIGKILL");
  for (const pid of leftovers) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});
const leftovers = new Set<number>();

interface AgentProcess {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function runAgent(args: string[]): AgentProcess {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", ENTRY, "agent", "--server", t.url, "--node-name", NODE, ...args],
    {
      env: { ...process.env, GANTRY_DATA_DIR: join(dir, "home"), GANTRY_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  started.push(proc);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, output: () => out, exited };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

describe("gantry agent", () => {
  it("runs the node's instances, leaves them running on Ctrl-C, and a new agent adopts them", async () => {
    const a = assignment(APP, NODE, artifact);
    await putAssignment(t, a);
    const dataDir = join(dir, "agent-data");
    const first = runAgent(["--token-file", tokenFile, "--data-dir", dataDir]);
    const running = (pid?: number) => async (): Promise<InstanceStatus | undefined> => {
      const s = await instanceStatus(t, a.id);
      return s?.state === "running" && (pid === undefined || s.pid === pid) ? s : undefined;
    };
    const s = await eventually("running", running());
    leftovers.add(s.pid!);
    const served = await (await fetch(`http://127.0.0.1:${s.port}/`)).text();
    expect(served).toMatch(/^hello hi from/);
    expect(first.output()).toContain(`joined   ${t.url} as ${NODE}`);

    first.proc.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain("instances keep running");
    expect(alive(s.pid!)).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${s.port}/`)).text()).toBe(served);
    // Still a member: it did not leave, its lease just stops being renewed.
    expect((await new CatalogClient(t.admin).nodes()).some((n) => n.name === NODE)).toBe(true);

    const second = runAgent(["--token-file", tokenFile, "--data-dir", dataDir, "--stop-instances"]);
    await eventually("adopted", async () =>
      second.output().includes(`adopted ${a.id} (pid ${s.pid})`) ? true : undefined,
    );
    await eventually("reported by the new agent", running(s.pid));
    expect(await (await fetch(`http://127.0.0.1:${s.port}/`)).text()).toBe(served);

    second.proc.kill("SIGINT");
    expect(await second.exited).toBe(0);
    expect(second.output()).toContain("stopping the agent and its instances");
    expect(alive(s.pid!)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${s.port}/`)).rejects.toThrow();
    expect((await new CatalogClient(t.admin).nodes()).some((n) => n.name === NODE)).toBe(false);
  });

  it("refuses to start without a token, and exits when the server refuses the token", async () => {
    const none = runAgent(["--data-dir", join(dir, "none")]);
    expect(await none.exited).not.toBe(0);
    expect(none.output()).toMatch(/needs a node token/);

    const bad = runAgent(["--token", "not-a-valid-token", "--data-dir", join(dir, "bad")]);
    expect(await bad.exited).not.toBe(0);
    expect(bad.output()).toMatch(/token/i);
  });
});
