/**
 * Converge by agents, on a real `gantry up` and a second `gantry agent` process: states pushed
 * with `gantry states push`, roles set with `gantry nodes:roles`, runs triggered by the states,
 * the roles and the KV keys a template reads; runs never overlap and a burst of changes queues
 * exactly one more; waitFor and runOnce order work across the two agents.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient } from "../src/client/client.js";
import { ConvergeClient } from "../src/client/converge.js";
import type { RunRecord } from "../src/model/converge.js";
import { spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, nodeTokenFile, stopGantry } from "./helpers/paas.js";

const NODE2 = "converge-2";

let g: GantryProcess;
let api: GantryClient;
let work: string;
let out: string;
let local: string;
let agent: ChildProcess | undefined;
let agentOut = "";

const read = (f: string): string | undefined =>
  existsSync(join(out, f)) ? readFileSync(join(out, f), "utf8") : undefined;

/** A node's runs, newest first (polled through the API: a CLI process per poll is slow). */
const runsOf = (node: string): Promise<RunRecord[]> => new ConvergeClient(api).runs(node);

/** `gantry converge status [NODE] --json`. */
async function statusCli(node?: string): Promise<{ code: number; runs: RunRecord[] }> {
  const r = await g.cli(["converge", "status", ...(node === undefined ? [] : [node]), "--json"]);
  if (r.code !== 0 && r.code !== 2) throw new Error(`converge status: ${r.code} ${r.stderr}`);
  return { code: r.code, runs: JSON.parse(r.stdout) as RunRecord[] };
}

/** Start/end pairs the slow exec logged, in order: [start, end][]. */
function slowSpans(): [number, number][] {
  const lines = (read("slow.log") ?? "").trim().split("\n").filter(Boolean);
  const spans: [number, number][] = [];
  for (const l of lines) {
    const [what, t] = l.split(" ");
    if (what === "start") spans.push([Number(t), NaN]);
    else spans[spans.length - 1]![1] = Number(t);
  }
  return spans;
}

function writeStates(dir: string): void {
  mkdirSync(join(dir, "templates"), { recursive: true });
  writeFileSync(
    join(dir, "top.yaml"),
    ["app: [app]", "slow: [slow]", "replica: [replica]", "once: [once]", ""].join("\n"),
  );
  writeFileSync(join(dir, "templates/app.conf.j2"), "port={{ key('app/port') }}\n");
  writeFileSync(
    join(dir, "app.yaml"),
    `resources:
  - template: ${out}/app.conf
    source: templates/app.conf.j2
`,
  );
  // A slow run that reads a key: start and end times (ms) go to slow.log.
  writeFileSync(
    join(dir, "slow.yaml"),
    `resources:
  - file: ${out}/slow.conf
    content: "n={{ key('slow/n', '0') }}\\n"
  - exec: slow
    shell: "echo start $(date +%s%3N) >> ${out}/slow.log; sleep 1; echo end $(date +%s%3N) >> ${out}/slow.log"
`,
  );
  writeFileSync(
    join(dir, "replica.yaml"),
    `resources:
  - file: ${out}/replica.conf
    content: "primary={{ key('primary/ready', 'none') }}\\n"
    waitFor: { key: primary/ready, timeout: 30s }
`,
  );
  writeFileSync(
    join(dir, "once.yaml"),
    `resources:
  - exec: seed
    shell: "echo seeded >> ${out}/once.log; sleep 0.5"
    runOnce: true
`,
  );
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-converge-agent-"));
  out = join(work, "out");
  mkdirSync(out);
  g = await startGantry();
  api = new GantryClient({ addr: g.url, token: g.token });
  local = (await eventually("the local node", async () => {
    const nodes = await api.json<{ name: string }[]>("GET", "/v1/nodes");
    return nodes[0]?.name;
  }))!;
});

afterAll(async () => {
  if (agent !== undefined && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once("exit", r));
    agent.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (agent.exitCode === null) agent.kill("SIGKILL");
  }
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

describe("converge by agents", () => {
  it("a bad states dir is refused before it is uploaded", async () => {
    const bad = join(work, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "top.yaml"), "app: [app]\n");
    writeFileSync(join(bad, "app.yaml"), "resources:\n  - flie: /tmp/x\n");
    const r = await g.cli(["states", "push", bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/app\.yaml:2/);
    expect((await g.cli(["states"])).stdout).toContain("no states pushed");
  });

  it("the local agent converges when states and roles arrive, and again when a key it read changes", async () => {
    const states = join(work, "states");
    writeStates(states);
    await api.kvPut("app/port", "8080");
    const pushed = await g.cli(["states", "push", states]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const shown = await g.cli(["states", "--json"]);
    const summary = JSON.parse(shown.stdout) as { hash: string; files: { path: string }[] };
    expect(summary.files.map((f) => f.path)).toContain("templates/app.conf.j2");
    expect(pushed.stdout).toContain(summary.hash.slice(0, 12));

    const set = await g.cli(["nodes:roles", local, "app", "--var", "tier=1"]);
    expect(set.code, set.stderr).toBe(0);
    await eventually("app.conf rendered", async () =>
      read("app.conf") === "port=8080\n" ? true : undefined,
    );
    const first = await eventually("the first run stored", async () => (await runsOf(local))[0]);
    expect(first.summary).toMatchObject({ changed: 1, failed: 0 });
    expect(first.reads.keys).toEqual(["app/port"]);
    expect(first.resources[0]).toMatchObject({ id: `template:${out}/app.conf`, status: "changed" });

    expect((await g.cli(["kv", "put", "app/port", "9090"])).code).toBe(0);
    await eventually("app.conf re-rendered", async () =>
      read("app.conf") === "port=9090\n" ? true : undefined,
    );
    const second = await eventually("the key's run stored", async () => {
      const runs = await runsOf(local);
      return runs.length >= 2 ? runs[0] : undefined;
    });
    expect(second.triggers).toContainEqual({ kind: "key", key: "app/port" });
    expect(second.summary).toMatchObject({ changed: 1, failed: 0 });

    const cli = await statusCli(local);
    expect(cli.code).toBe(0);
    expect(cli.runs.map((r) => r.triggers)).toEqual((await runsOf(local)).map((r) => r.triggers));
    const table = await g.cli(["converge", "status"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(local);
    expect(table.stdout).toContain("key app/port");
  });

  it("a burst of changes during a slow run queues exactly one more run, never overlapping", async () => {
    expect((await g.cli(["nodes:roles", local, "app", "slow"])).code).toBe(0);
    await eventually("the first slow run", async () => (slowSpans()[0]?.[1] ? true : undefined));
    const before = slowSpans().length;
    await api.kvPut("slow/n", "1");
    // Wait until that run is inside its slow exec, then change the key it read five more times.
    await eventually(
      "a slow run in progress",
      async () => {
        const s = slowSpans();
        return s.length > before && Number.isNaN(s.at(-1)![1]) ? true : undefined;
      },
      10_000,
    );
    for (let n = 2; n <= 6; n++) {
      await api.kvPut("slow/n", String(n));
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually("slow.conf with the last value", async () =>
      read("slow.conf") === "n=6\n" && !Number.isNaN(slowSpans().at(-1)![1]) ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2000)); // no third run may follow
    const spans = slowSpans();
    expect(spans.length - before).toBe(2);
    for (let i = 1; i < spans.length; i++)
      expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    const last = (await runsOf(local))[0]!;
    expect(last.triggers).toEqual([{ kind: "key", key: "slow/n" }]);
  });

  it("a run that cannot start stores its error, and status exits 2", async () => {
    expect((await g.cli(["nodes:roles", local, "nosuch"])).code).toBe(0);
    const failed = await eventually("the failed run stored", async () => {
      const last = (await runsOf(local))[0];
      return last?.roles.includes("nosuch") ? last : undefined;
    });
    expect(failed.error?.message).toMatch(/nosuch/);
    expect(failed.summary).toBeUndefined();
    const cli = await g.cli(["converge", "status"]);
    expect(cli.code).toBe(2);
    expect(cli.stdout).toMatch(/nosuch/);
  });

  it("a second agent's waitFor waits for a key; runOnce runs once across both nodes", async () => {
    const tokenFile = await nodeTokenFile(g, NODE2, work, [
      "kv::read",
      "kv:converge/once/:write",
      "session:converge/:write",
    ]);
    agent = spawnCli(
      [
        ...["agent", "--server", g.url, "--token-file", tokenFile],
        ...["--node-name", NODE2, "--data-dir", join(work, "agent2")],
      ],
      {},
    );
    agent.stdout!.on("data", (d: Buffer) => (agentOut += d.toString()));
    agent.stderr!.on("data", (d: Buffer) => (agentOut += d.toString()));
    await eventually("the agent to join", async () =>
      agentOut.includes(`as ${NODE2}`) ? true : undefined,
    );

    expect((await g.cli(["nodes:roles", NODE2, "replica"])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect(read("replica.conf"), agentOut).toBeUndefined(); // still waiting for primary/ready
    await api.kvPut("primary/ready", "db-1");
    await eventually("replica.conf after primary/ready", async () =>
      read("replica.conf") === "primary=db-1\n" ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${agentOut}`);
    });

    // Both nodes get the runOnce state at the same moment: one runs it, the other skips it.
    const [a, b] = await Promise.all([
      g.cli(["nodes:roles", local, "once"]),
      g.cli(["nodes:roles", NODE2, "once"]),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const onceRuns = await eventually("both nodes ran the once state", async () => {
      const runs = await Promise.all([runsOf(local), runsOf(NODE2)]);
      const lasts = runs.map((r) => r[0]);
      return lasts.every((r) => r?.roles.includes("once")) ? lasts : undefined;
    });
    const statuses = onceRuns.map((r) => r!.resources.find((x) => x.id === "exec:seed")?.status);
    expect(statuses.sort()).toEqual(["changed", "skipped"]);
    expect(read("once.log")).toBe("seeded\n");
    const markers = async (): Promise<string[]> => {
      const ls = await g.cli(["kv", "ls", "converge/once/once/exec:seed/", "--json"]);
      expect(ls.code, ls.stderr).toBe(0);
      return (JSON.parse(ls.stdout) as { key: string }[])
        .map((e) => e.key)
        .filter((k) => k.endsWith("/done"));
    };
    expect(await markers()).toHaveLength(1);

    // Edited, the resource is a new version: it runs once more, again on one node only.
    const states = join(work, "states");
    writeFileSync(
      join(states, "once.yaml"),
      `resources:
  - exec: seed
    shell: "echo seeded again >> ${out}/once.log; sleep 0.5"
    runOnce: true
`,
    );
    const pushed = await g.cli(["states", "push", states]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const { hash } = JSON.parse((await g.cli(["states", "--json"])).stdout) as { hash: string };
    const again = await eventually("both nodes ran the edited once state", async () => {
      const lasts = (await Promise.all([runsOf(local), runsOf(NODE2)])).map((r) => r[0]);
      return lasts.every((r) => r?.statesHash === hash) ? lasts : undefined;
    });
    const seeds = again.map((r) => r!.resources.find((x) => x.id === "exec:seed")?.status);
    expect(seeds.sort()).toEqual(["changed", "skipped"]);
    expect(read("once.log")).toBe("seeded\nseeded again\n");
    expect(await markers()).toHaveLength(2);
  });
  it("the local agent of gantry up reads secret() from the config store; reports show [secret]", async () => {
    expect((await g.cli(["apps:create", "vault"])).code).toBe(0);
    const set = await g.cli(["config:set", "vault", "DB_PASSWORD=s3cr3t-value"]);
    expect(set.code, set.stderr).toBe(0);
    const states = join(work, "states");
    writeFileSync(
      join(states, "top.yaml"),
      ["app: [app]", "slow: [slow]", "replica: [replica]", "once: [once]", "db: [db]", ""].join(
        "\n",
      ),
    );
    writeFileSync(
      join(states, "db.yaml"),
      `resources:
  - file: ${out}/db.conf
    content: "password={{ secret('vault', 'DB_PASSWORD') }}\\n"
    mode: "0600"
`,
    );
    expect((await g.cli(["states", "push", states])).code).toBe(0);
    expect((await g.cli(["nodes:roles", local, "db"])).code).toBe(0);
    await eventually("db.conf rendered by the local agent", async () =>
      read("db.conf") === "password=s3cr3t-value\n" ? true : undefined,
    );
    // The file is written mid-run; the run's record is stored when the run ends.
    const run = await eventually("the run that wrote db.conf stored", async () =>
      (await runsOf(local)).find((r) => r.resources.some((x) => x.id === `file:${out}/db.conf`)),
    );
    expect(run.resources.find((r) => r.id === `file:${out}/db.conf`)?.status).toBe("changed");
    const shown = await g.cli(["converge", "status", local, "--json"]);
    expect(shown.stdout).not.toContain("s3cr3t-value");
    expect(JSON.stringify(await runsOf(local))).not.toContain("s3cr3t-value");
  });
});
