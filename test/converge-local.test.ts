/**
 * `gantry converge --local` as a user runs it: the built CLI against real files in a temp dir,
 * with the real `file` and `exec` types — check mode, apply, a no-op second run, drift, handlers
 * after a failure, secrets kept out of the output, and bad input refused before any change.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "./helpers/gantry.js";

interface JsonReport {
  summary: { ok: number; changed: number; failed: number; skipped: number };
  resources: {
    id: string;
    status: string;
    changes: string[];
    diff?: string;
    message?: string;
    handler: boolean;
  }[];
}

let root: string;
let states: string;
let target: string;

function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const converge = (...args: string[]): Promise<CliResult> =>
  runCli(["converge", "--local", "--states", states, ...args], {}, { timeoutMs: 60_000 });

async function convergeJson(
  ...args: string[]
): Promise<{ code: number; report: JsonReport; stderr: string }> {
  const r = await converge(...args, "--json");
  let report: JsonReport;
  try {
    report = JSON.parse(r.stdout) as JsonReport;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

const byStatus = (report: JsonReport): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const r of report.resources) (out[r.status] ??= []).push(r.id);
  return out;
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "gantry-converge-"));
  states = join(root, "states");
  target = join(root, "target");
  mkdirSync(target);
  write(states, {
    "top.yaml": [
      "web:",
      "  states: [base, app]",
      `  vars: { greeting: role-hello, root: "${target}" }`,
      "",
    ].join("\n"),
    "base.yaml": [
      "vars:",
      "  greeting: state-hello",
      "resources:",
      "  - file: '{{ root }}/motd'",
      '    content: "{{ greeting }} from {{ facts.hostname }}\\n"',
      '    mode: "0640"',
      "    notify: [log-restart]",
      "  - file: '{{ root }}/user-{{ item }}'",
      "    forEach: [ann, bob]",
      '    content: "{{ item }}\\n"',
      "  - file: '{{ root }}/never'",
      '    content: "x"',
      '    when: facts.os == "plan9"',
      "handlers:",
      "  - exec: log-restart",
      `    command: ["/bin/sh", "-c", "echo restart >> ${target}/handler.log"]`,
      "",
    ].join("\n"),
    "app/init.yaml": [
      "secretVars: [dbpass]",
      "vars:",
      "  port: 8080",
      "  dbpass: hunter2-secret",
      "resources:",
      "  - file: '{{ root }}/app.conf'",
      '    content: "port={{ port }}\\npassword={{ dbpass }}\\n"',
      "  - exec: seed",
      `    command: ["/bin/sh", "-c", "echo seeded > ${target}/seeded"]`,
      `    creates: ${target}/seeded`,
      "    require: ['file:{{ root }}/app.conf']",
      "",
    ].join("\n"),
    "broken.yaml": [
      "resources:",
      `  - file: ${target}/before-failure`,
      '    content: "one\\n"',
      "    notify: [log-restart]",
      "  - exec: fails",
      '    command: ["/bin/false"]',
      `  - file: ${target}/needs-failure`,
      '    content: "x"',
      "    require: [exec:fails]",
      `  - file: ${target}/independent`,
      '    content: "x"',
      "handlers:",
      "  - exec: log-restart",
      `    command: ["/bin/sh", "-c", "echo after-failure >> ${target}/handler.log"]`,
      "",
    ].join("\n"),
  });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("gantry converge --local", () => {
  it("checks, applies, and then has nothing to do", async () => {
    const check = await convergeJson("--role", "web", "--check");
    expect(check.code).toBe(0);
    expect(byStatus(check.report)).toEqual({
      skipped: [`file:${target}/never`],
      changed: [
        `file:${target}/motd`,
        `file:${target}/user-ann`,
        `file:${target}/user-bob`,
        `file:${target}/app.conf`,
        "exec:seed",
        "exec:log-restart",
      ],
    });
    expect(existsSync(join(target, "motd"))).toBe(false); // check mode changed nothing
    expect(existsSync(join(target, "handler.log"))).toBe(false);

    const apply = await convergeJson("--role", "web");
    expect(apply.code).toBe(0);
    // The apply changes exactly what check mode said it would.
    expect(byStatus(apply.report)).toEqual(byStatus(check.report));
    expect(apply.report.summary).toEqual({ ok: 0, changed: 6, failed: 0, skipped: 1 });
    // role vars beat state defaults; facts render
    expect(readFileSync(join(target, "motd"), "utf8")).toMatch(/^role-hello from \S+\n$/);
    expect(statSync(join(target, "motd")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(target, "user-bob"), "utf8")).toBe("bob\n");
    expect(readFileSync(join(target, "app.conf"), "utf8")).toBe(
      "port=8080\npassword=hunter2-secret\n",
    );
    expect(readFileSync(join(target, "seeded"), "utf8")).toBe("seeded\n");
    expect(readFileSync(join(target, "handler.log"), "utf8")).toBe("restart\n");

    const again = await convergeJson("--role", "web");
    expect(again.code).toBe(0);
    expect(again.report.summary).toEqual({ ok: 5, changed: 0, failed: 0, skipped: 1 });
    expect(readFileSync(join(target, "handler.log"), "utf8")).toBe("restart\n");
  });

  it("reports exactly the drift in check mode, then repairs it; -e beats every var", async () => {
    writeFileSync(join(target, "user-ann"), "drifted\n");
    const check = await convergeJson("--role", "web", "--check", "-e", "port=9090");
    expect(byStatus(check.report).changed).toEqual([
      `file:${target}/user-ann`,
      `file:${target}/app.conf`,
    ]);
    expect(readFileSync(join(target, "user-ann"), "utf8")).toBe("drifted\n");
    const ann = check.report.resources.find((r) => r.id === `file:${target}/user-ann`)!;
    expect(ann.diff).toContain("-drifted");
    expect(ann.diff).toContain("+ann");

    const human = await converge("--role", "web", "-e", "port=9090", "--diff");
    expect(human.code).toBe(0);
    const out = human.stdout.split("\n");
    expect(out.some((l) => /^changed\s+file:.*user-ann/.test(l))).toBe(true);
    expect(out.some((l) => l.includes("+port=9090"))).toBe(true);
    expect(out.at(-2)).toMatch(/: 2 changed, 0 failed, 1 skipped, 3 ok in /);
    // ok resources are not listed without --verbose
    expect(human.stdout).not.toContain(`file:${target}/motd`);
    expect(readFileSync(join(target, "app.conf"), "utf8")).toContain("port=9090\n");
  });

  it("never shows a secret var, in JSON or in diffs", async () => {
    rmSync(join(target, "app.conf"));
    const check = await converge("--role", "web", "--check", "--diff", "--verbose");
    const json = await converge("--role", "web", "--check", "--diff", "--json");
    for (const r of [check, json]) {
      expect(r.stdout + r.stderr).not.toContain("hunter2-secret");
      expect(r.stdout).toContain("password=[secret]");
    }
  });

  it("skips what needs a failed step, runs the rest and the handlers, and exits 2", async () => {
    const r = await convergeJson("broken");
    expect(r.code).toBe(2);
    expect(r.report.resources.map((x) => `${x.id} ${x.status}`)).toEqual([
      `file:${target}/before-failure changed`,
      "exec:fails failed",
      `file:${target}/needs-failure skipped`,
      `file:${target}/independent changed`,
      "exec:log-restart changed",
    ]);
    expect(r.report.resources[2]!.message).toBe("requires exec:fails, which did not succeed");
    expect(readFileSync(join(target, "handler.log"), "utf8")).toBe("restart\nafter-failure\n");
    expect(existsSync(join(target, "needs-failure"))).toBe(false);
  });

  it("refuses bad states with file:line:field and exit 1, changing nothing", async () => {
    write(states, {
      "bad.yaml": [
        "resources:",
        `  - file: ${target}/bad-1`,
        '    content: "x"',
        "  - fiel: /etc/motd",
        `  - file: ${target}/bad-2`,
        "    mode: 644",
        '    content: "x"',
        "",
      ].join("\n"),
    });
    const r = await converge("bad");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      'gantry: bad.yaml:4: resources[1].fiel: unknown resource type "fiel"',
    );
    expect(r.stderr).toContain("bad.yaml:6: resources[2].mode: ");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(target, "bad-1"))).toBe(false);
  });

  it("--timeout stops a run that takes too long, kills its command and names the lost handlers", async () => {
    write(states, {
      "slow.yaml": [
        "resources:",
        `  - file: ${target}/slow-before`,
        '    content: "x\n"',
        "    notify: [log-restart]",
        "  - exec: hang",
        `    shell: "echo $$ > ${target}/slow.pid; exec sleep 60"`,
        "handlers:",
        "  - exec: log-restart",
        '    command: ["true"]',
        "",
      ].join("\n"),
    });
    const started = Date.now();
    const r = await converge("slow", "--timeout", "2s");
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.stderr).toContain("gantry: timed out after 2s: the run was stopped");
    expect(r.stderr).toContain(
      "stopped before these handlers ran; run them by hand: exec:log-restart",
    );
    const pid = Number(readFileSync(join(target, "slow.pid"), "utf8"));
    expect(() => process.kill(pid, 0)).toThrow(); // the sleep was killed with its group

    for (const bad of ["soon", "0s", "25h"]) {
      const refused = await converge("slow", "--timeout", bad);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`--timeout must be a duration from 1s to 24h`);
      expect(refused.stderr).toContain(`got "${bad}"`);
    }
  });

  it("says what is missing when neither --local nor roles are given", async () => {
    const where = await runCli(["converge", "--states", states, "base"], {});
    expect(where.code).toBe(1);
    expect(where.stderr).toContain("--local");
    const what = await converge();
    expect(what.code).toBe(1);
    expect(what.stderr).toContain("--role");
  });
});

describe("gantry facts", () => {
  it("prints the facts as JSON", async () => {
    const r = await runCli(["facts", "--json"], {});
    expect(r.code).toBe(0);
    const facts = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(facts).toMatchObject({ os: "linux", roles: [], labels: {} });
    expect(facts["cpus"]).toBeGreaterThan(0);
    expect(["systemd", "sysv"]).toContain(facts["init"]);
    expect((facts["distribution"] as { id: string }).id).not.toBe("");
  });
});
