/**
 * The ssh transport of `gantry converge --inventory` against real sshd hosts on loopback
 * (test/helpers/converge-ssh.ts): uploading and caching the runner, become through sudo, and
 * what a host without node or a runner that dies reports.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseInventory } from "../src/converge/inventory.js";
import { sshExitMasterArgs } from "../src/converge/ssh/argv.js";
import { convergeHost } from "../src/converge/ssh/host.js";
import { runnerPath } from "../src/converge/ssh/remote.js";
import { loadRunnerBundle } from "../src/converge/ssh/runner-bundle.js";
import type { Job } from "../src/converge/types.js";
import { dir, ssh, sshSection, useSshHosts } from "./helpers/converge-ssh.js";

useSshHosts();

describe("the ssh transport", () => {
  // A stand-in runner (the engine is covered in converge-ssh.test.ts): echoes the job's host in a done event. The
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
