/**
 * `gantry converge --inventory` against real sshd hosts on loopback (test/helpers/sshd.ts): each
 * host has its own HOME, so each caches its own runner. Host 4's PATH has no node.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Output } from "../src/output/output.js";
import { parseInventory } from "../src/converge/inventory.js";
import { sshExitMasterArgs } from "../src/converge/ssh/argv.js";
import { inventoryOptions } from "../src/converge/ssh/cli-options.js";
import { convergeInventory, type InventoryRunOptions } from "../src/converge/ssh/cli.js";
import { convergeHost } from "../src/converge/ssh/host.js";
import { runnerPath } from "../src/converge/ssh/remote.js";
import { loadRunnerBundle } from "../src/converge/ssh/runner-bundle.js";
import type { Job } from "../src/converge/types.js";
import { alive, eventually } from "./helpers/paas.js";
import { inventorySshSection, startSshHosts, type SshHosts } from "./helpers/sshd.js";

let ssh: SshHosts;
let dir: string;
let bundle: string;

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, tty: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

const sshSection = (): string => inventorySshSection(ssh, ["ConnectTimeout=5"]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gantry-converge-ssh-"));
  // Host 4 gets a PATH with a shell and coreutils but no node.
  const noNodeBin = join(dir, "no-node-bin");
  mkdirSync(noNodeBin);
  for (const c of ["sh", "bash", "cat", "mkdir", "mv", "test"]) {
    const target = execFileSync("sh", ["-c", `command -v ${c}`])
      .toString()
      .trim();
    if (target.startsWith("/")) symlinkSync(target, join(noNodeBin, c));
  }
  ssh = await startSshHosts(4, {
    env: (i): Record<string, string> => (i === 3 ? { PATH: noNodeBin } : {}),
  });
  bundle = join(dir, "converge-runner.mjs");
  execFileSync(process.execPath, ["scripts/bundle-runner.mjs", "--out", bundle]);
});

afterAll(async () => {
  await ssh?.cleanup();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the ssh transport", () => {
  // A stand-in runner (the engine is covered below): echoes the job's host in a done event. The
  // job is stdin's first line; stdin stays open (the lifeline), so it lets go of it when done.
  const fakeRunner = `
let s = "";
process.stdin.on("data", (d) => {
  s += d;
  if (!s.includes("\\n")) return;
  process.stdin.destroy();
  const job = JSON.parse(s.slice(0, s.indexOf("\\n")));
  const report = { host: job.host, check: job.check, summary: { ok: 1, changed: 0, failed: 0, skipped: 0 },
    resources: [], startedAt: new Date().toISOString(), durationMs: 1, uid: process.getuid() };
  console.log("a line a chatty shell printed");
  console.log(JSON.stringify({ kind: "start", host: job.host, steps: 1, check: job.check }));
  console.log(JSON.stringify({ kind: "done", host: job.host, report }));
});`;

  async function runOn(i: number, opts: { become?: boolean; runner?: string; user?: string } = {}) {
    const runnerFile = join(dir, `fake-${i}.mjs`);
    writeFileSync(runnerFile, opts.runner ?? fakeRunner);
    const runner = await loadRunnerBundle(runnerFile);
    const h = ssh.hosts[i]!;
    const inv = parseInventory(
      `${sshSection()}\nhosts:\n  ${h.name}: { address: ${h.address}, port: ${h.port}, user: ${opts.user ?? "root"} }\n`,
      "inv.yaml",
    );
    const controlDir = await mkdtemp(join(tmpdir(), "gantry-ssh-t-"));
    const events: string[] = [];
    const statuses: string[] = [];
    const job: Job = {
      files: {},
      roles: ["x"],
      states: [],
      nodeVars: {},
      extraVars: {},
      labels: {},
      check: true,
      host: h.name,
    };
    try {
      const outcome = await convergeHost({
        host: inv.hosts[0]!,
        ssh: inv.ssh,
        controlDir,
        runner,
        job,
        become: opts.become ?? false,
        onEvent: (e) => events.push(e.kind),
        onStatus: (s) => statuses.push(s),
      });
      return { outcome, events, statuses, runner };
    } finally {
      spawnSync("ssh", sshExitMasterArgs(inv.hosts[0]!, inv.ssh, controlDir), { stdio: "ignore" });
      await rm(controlDir, { recursive: true, force: true });
    }
  }

  it("uploads the runner once, then runs it in one round trip", async () => {
    const first = await runOn(0);
    expect(first.outcome).toMatchObject({
      kind: "report",
      uploaded: true,
      report: { host: "host1" },
    });
    expect(first.events).toEqual(["start", "done"]);
    expect(first.statuses).toEqual(["connecting", "uploading runner", "running"]);
    const cached = join(ssh.hosts[0]!.home, runnerPath(first.runner.hash));
    expect(readFileSync(cached, "utf8")).toBe(readFileSync(first.runner.path, "utf8"));
    expect(first.runner.hash).toBe(
      createHash("sha256").update(readFileSync(first.runner.path)).digest("hex").slice(0, 12),
    );

    const second = await runOn(0);
    expect(second.outcome).toMatchObject({ kind: "report", uploaded: false });
    expect(second.statuses).toEqual(["connecting"]);
  });

  it("runs the runner as root through sudo -n with become", async () => {
    const r = await runOn(1, { become: true });
    expect(r.outcome.kind).toBe("report");
    expect((r.outcome as { report: { uid?: number } }).report.uid).toBe(0);
  });

  it("runs as the ssh user, and explains a sudo that asks for a password", async () => {
    // A real unprivileged user (not in sudoers), with a usable but passwordless account.
    const user = "gantry-ssh-test";
    if (spawnSync("id", [user]).status !== 0)
      execFileSync("useradd", ["-M", "-N", "-s", "/bin/sh", user]);
    execFileSync("usermod", ["-p", "*", user]);
    execFileSync("chown", [user, ssh.hosts[2]!.home]);
    const plain = await runOn(2, { user });
    expect(plain.outcome.kind).toBe("report");
    expect((plain.outcome as { report: { uid?: number } }).report.uid).not.toBe(0);

    const r = await runOn(2, { user, become: true });
    expect(r.outcome).toEqual({
      kind: "failed",
      message: `sudo asks for a password — become needs passwordless sudo (NOPASSWD) for ${user}`,
      uploaded: false,
    });
  });

  it("fails a host without node with a clear message", async () => {
    const r = await runOn(3);
    expect(r.outcome).toEqual({
      kind: "failed",
      message: "node not found on the host — Gantry's runner needs Node.js ≥ 20 there",
      uploaded: false,
    });
  });

  it("reports what a runner that dies without a report wrote", async () => {
    const r = await runOn(2, { runner: 'console.error("boom: out of cheese"); process.exit(3);' });
    expect(r.outcome.kind).toBe("failed");
    expect((r.outcome as { message: string }).message).toMatch(
      /exited with code 3.*boom: out of cheese/,
    );
  });
});

describe("gantry converge --inventory", () => {
  let states: string;
  let inventory: string;
  const root = (h: string): string => join(dir, "roots", h);

  beforeAll(() => {
    states = join(dir, "states");
    mkdirSync(states, { recursive: true });
    writeFileSync(join(states, "top.yaml"), "app: [app]\n");
    writeFileSync(
      join(states, "app.yaml"),
      [
        "resources:",
        '  - file: "{{ root }}/motd"',
        '    content: "{{ motd }} from {{ env }}/{{ tier }}\\n"',
        '    mode: "0640"',
        "    makeDirs: true",
        '  - file: "{{ root }}/host"',
        '    content: "label={{ host_label }}\\n"',
        "    makeDirs: true",
        "",
      ].join("\n"),
    );
    const [a, b, c] = ssh.hosts;
    inventory = join(dir, "inventory.yaml");
    writeFileSync(
      inventory,
      [
        sshSection(),
        "hosts:",
        `  web1: { address: ${a!.address}, port: ${a!.port}, vars: { root: ${root("web1")}, host_label: one } }`,
        `  web2: { address: ${b!.address}, port: ${b!.port}, become: true, vars: { root: ${root("web2")}, host_label: two } }`,
        `  db1: { address: ${c!.address}, port: ${c!.port}, vars: { root: ${root("db1")}, host_label: three, motd: db only } }`,
        "groups:",
        "  web: { hosts: [web1, web2], roles: [app], vars: { tier: web } }",
        "  db: { hosts: [db1], roles: [app], vars: { tier: db } }",
        '  prod: { children: [web, db], vars: { env: prod, tier: none, motd: "hello" } }',
        "",
      ].join("\n"),
    );
  });

  const opts = (o: Partial<InventoryRunOptions> = {}): InventoryRunOptions =>
    inventoryOptions(inventory, states, { json: true, forks: 10, ...o });

  async function converge(o: Partial<InventoryRunOptions> = {}) {
    const out = capture();
    const code = await convergeInventory(opts(o), out, { runnerBundle: bundle });
    const parsed =
      o.json === false ? undefined : (JSON.parse(out.stdout.join("\n")) as Record<string, never>);
    return { code, out, json: parsed as unknown as InventoryJson };
  }

  interface InventoryJson {
    hosts: Record<
      string,
      { summary?: { changed: number; ok: number }; unreachable?: string; failed?: string }
    >;
    summary: { hosts: number; changed: number; failed: number; unreachable: number };
    runner: { hash: string; uploaded: string[] };
  }

  it("check mode reports the changes, writes nothing, and uploads the runner to every host", async () => {
    const r = await converge({ check: true });
    expect(r.code).toBe(0);
    expect(r.json.summary).toMatchObject({ hosts: 3, changed: 6, failed: 0, unreachable: 0 });
    for (const h of ["web1", "web2", "db1"]) expect(r.json.hosts[h]!.summary!.changed).toBe(2);
    expect(r.json.runner.uploaded.sort()).toEqual(["db1", "web1", "web2"]);
    for (const h of ["web1", "web2", "db1"]) expect(existsSync(root(h))).toBe(false);
    for (const host of ssh.hosts.slice(0, 3)) {
      expect(existsSync(join(host.home, runnerPath(r.json.runner.hash)))).toBe(true);
    }
  });

  it("applies with each host's merged vars, then a second run changes nothing and uploads nothing", async () => {
    const first = await converge();
    expect(first.code).toBe(0);
    expect(first.json.summary).toMatchObject({ changed: 6, failed: 0 });
    expect(first.json.runner.uploaded).toEqual([]);
    expect(readFileSync(join(root("web1"), "motd"), "utf8")).toBe("hello from prod/web\n");
    expect(readFileSync(join(root("web2"), "motd"), "utf8")).toBe("hello from prod/web\n");
    expect(readFileSync(join(root("db1"), "motd"), "utf8")).toBe("db only from prod/db\n");
    expect(readFileSync(join(root("db1"), "host"), "utf8")).toBe("label=three\n");

    const second = await converge();
    expect(second.code).toBe(0);
    expect(second.json.summary).toMatchObject({ changed: 0, failed: 0, hosts: 3 });
    expect(second.json.runner.uploaded).toEqual([]);
  });

  it("reports a stopped host as unreachable with exit 2 while the others converge", async () => {
    writeFileSync(join(root("web1"), "motd"), "drifted\n");
    await ssh.hosts[2]!.stop();
    try {
      const r = await converge({ json: false });
      expect(r.code).toBe(2);
      expect(r.out.stderr.join("\n")).toMatch(/^db1: unreachable: .*Connection refused/m);
      const text = r.out.stdout.join("\n");
      expect(text).toContain("web1: file:");
      expect(text).toMatch(/^web1: file:\S+\/motd changed/m);
      expect(text).toMatch(/^HOST\s+OK\s+CHANGED\s+FAILED\s+SKIPPED\s+UNREACHABLE$/m);
      expect(text).toMatch(/^web1\s+1\s+1\s+0\s+0\s+0$/m);
      expect(text).toMatch(/^db1\s+0\s+0\s+0\s+0\s+1$/m);
      expect(text).toMatch(/3 hosts: 3 ok, 1 changed, 0 failed, 0 skipped, 1 unreachable/);
      expect(readFileSync(join(root("web1"), "motd"), "utf8")).toBe("hello from prod/web\n");
    } finally {
      await ssh.hosts[2]!.start();
    }
  });

  it("limits to hosts with a role, and refuses bad input before touching any host", async () => {
    const none = await converge({ roles: ["nope"], json: false });
    expect(none.code).toBe(1);
    expect(none.out.stderr.join("\n")).toContain("no host in");

    const badInv = join(dir, "bad-inventory.yaml");
    writeFileSync(badInv, "hosts:\n  a: {}\ngroups:\n  g: { hosts: [a, b] }\n");
    const bad = await converge({ inventory: badInv, json: false });
    expect(bad.code).toBe(1);
    expect(bad.out.stderr).toEqual([`gantry: ${badInv}:4: groups.g.hosts[1]: unknown host "b"`]);
    const missing = await converge({ inventory: join(dir, "nope.yaml"), json: false });
    expect(missing.code).toBe(1);
    expect(missing.out.stderr).toEqual([
      `gantry: cannot read inventory ${join(dir, "nope.yaml")}: no such file`,
    ]);

    const badStates = join(dir, "bad-states");
    mkdirSync(badStates);
    writeFileSync(join(badStates, "top.yaml"), "app: [app]\n");
    writeFileSync(join(badStates, "app.yaml"), "resources:\n  - nosuchtype: x\n");
    const broken = await converge({ statesDir: badStates, json: false });
    expect(broken.code).toBe(1);
    expect(broken.out.stderr.join("\n")).toMatch(/app\.yaml:2/);
    expect(broken.out.stdout).toEqual([]);
  });
});

describe("time limits", () => {
  let states: string;
  const root = join(tmpdir(), `gantry-hang-${process.pid}`);

  beforeAll(() => {
    states = join(dir, "hang-states");
    mkdirSync(states, { recursive: true });
    writeFileSync(join(states, "top.yaml"), "hang: [hang]\n");
    // A change that notifies a handler, then a command that hangs, writing its pid first.
    writeFileSync(
      join(states, "hang.yaml"),
      [
        "resources:",
        `  - file: ${root}/before`,
        '    content: "x\\n"',
        "    makeDirs: true",
        "    notify: [reload]",
        "  - exec: hang",
        `    shell: "echo $$ > ${root}/pid; exec sleep 60"`,
        `  - file: ${root}/after`,
        '    content: "x\\n"',
        "handlers:",
        "  - exec: reload",
        '    command: ["true"]',
        "",
      ].join("\n"),
    );
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const inventoryFor = (hosts: string, options: string[] = ["ConnectTimeout=5"]): string => {
    const file = join(dir, `inv-${createHash("sha1").update(hosts).digest("hex")}.yaml`);
    writeFileSync(file, `${inventorySshSection(ssh, options)}\nhosts:\n${hosts}`);
    return file;
  };

  /** Converge `inventory` with the hang states, human output; resolves to the exit and output. */
  async function run(inventory: string, o: Partial<InventoryRunOptions> = {}) {
    const out = capture();
    const started = Date.now();
    const code = await convergeInventory(inventoryOptions(inventory, states, o), out, {
      runnerBundle: bundle,
    });
    return { code, out, ms: Date.now() - started };
  }

  it("--timeout gives up on a hung host and stops its run there too", async () => {
    const h = ssh.hosts[1]!;
    const inventory = inventoryFor(
      `  slow: { address: ${h.address}, port: ${h.port}, roles: [hang] }\n`,
    );
    const { code, out, ms } = await run(inventory, { timeoutMs: 3000 });
    expect(code).toBe(2);
    expect(ms).toBeLessThan(15_000);
    const err = out.stderr.join("\n");
    expect(err).toContain(
      "slow: failed: timed out after 3s: the run on the host was stopped " +
        "(0 ok, 1 changed, 1 failed, 2 skipped; handlers not run, run them by hand: exec:reload)",
    );
    expect(out.stdout.join("\n")).toMatch(/^slow\s+\d+\s+\d+\s+1\s+\d+\s+0$/m);
    // The command was killed on the host, and nothing after it ran.
    const pid = Number(readFileSync(join(root, "pid"), "utf8"));
    expect(pid).toBeGreaterThan(1);
    await eventually("the hung command to be killed", () => !alive(pid), 5000);
    expect(existsSync(join(root, "after"))).toBe(false);
  });

  it("a host that accepts but never speaks SSH is unreachable after ConnectTimeout", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const inventory = inventoryFor(
        `  mute: { address: 127.0.0.1, port: ${port}, roles: [hang] }\n`,
        ["ConnectTimeout=1"],
      );
      const { code, out, ms } = await run(inventory, { check: true });
      expect(code).toBe(2);
      expect(ms).toBeLessThan(8000);
      expect(out.stderr.join("\n")).toMatch(/^mute: unreachable: .*timed out/im);
    } finally {
      silent.close();
    }
  });
});
