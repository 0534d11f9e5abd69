/**
 * examples/states, converged as the README says, through the built CLI: into a temp root (its
 * `root` var), with an account of its own (its `app_user`/`app_group` vars), so the example can
 * never rot — check mode changes nothing, an apply makes it so, a second apply has nothing to do.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/gantry.js";

const STATES = resolve(import.meta.dirname, "../examples/states");

interface JsonReport {
  summary: { ok: number; changed: number; failed: number; skipped: number };
  resources: { id: string; status: string; handler: boolean; changes: string[] }[];
}

const parent = mkdtempSync(join(tmpdir(), "gantry-example-"));
const root = join(parent, "root"); // does not exist yet: the states create it
const account = `gx${process.pid % 100_000}`;
const vars = ["-e", `root=${root}`, "-e", `app_user=${account}`, "-e", `app_group=${account}`];

afterAll(() => {
  spawnSync("userdel", [account]);
  spawnSync("groupdel", [account]);
  rmSync(parent, { recursive: true, force: true });
});

async function converge(
  role: string,
  ...args: string[]
): Promise<{ code: number; report: JsonReport }> {
  const r = await runCli(
    ["converge", "--local", "--states", STATES, "--role", role, ...vars, "--json", ...args],
    {},
    { timeoutMs: 30_000 },
  );
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as JsonReport };
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

const changed = (report: JsonReport): string[] =>
  report.resources.filter((r) => r.status === "changed").map((r) => r.id);
const reloads = (): string[] =>
  readFileSync(join(root, "var/log/web-reloads.log"), "utf8").trim().split("\n");

describe("examples/states", () => {
  it("web: check changes nothing, apply converges, the second apply has nothing to do", async () => {
    // 6 resources in base, 10 in web (one skipped by its `when:` on facts.init), 1 handler.
    const check = await converge("web", "--check");
    expect(check.code).toBe(0);
    expect(Object.keys(check.report)).toEqual(["summary", "resources"]);
    expect(check.report.summary).toEqual({ ok: 0, changed: 17, failed: 0, skipped: 1 });
    expect(existsSync(root)).toBe(false);

    const apply = await converge("web");
    expect(apply.code).toBe(0);
    expect(apply.report.summary).toEqual({ ok: 0, changed: 17, failed: 0, skipped: 1 });
    expect(changed(apply.report)).toEqual(changed(check.report));
    expect(readFileSync(join(root, "etc/web/sites/blog.conf"), "utf8")).toContain("listen 8082;");
    expect(readFileSync(join(root, "etc/web/web.conf"), "utf8")).toContain("worker_processes 4;");
    expect(readFileSync(join(root, "etc/motd"), "utf8")).toContain("Roles: web");
    expect(readFileSync(join(root, "etc/sysctl.conf"), "utf8")).toBe("vm.swappiness = 10\n");
    const home = statSync(join(root, "srv/app"));
    expect(home.mode & 0o777).toBe(0o750);
    expect(home.uid).not.toBe(0); // owned by the account the state created
    expect(reloads()).toEqual(["reloaded with 2 sites"]);

    const again = await converge("web");
    expect(again.code).toBe(0);
    expect(again.report.summary).toEqual({ ok: 16, changed: 0, failed: 0, skipped: 1 });
    expect(reloads()).toHaveLength(1);
  });

  it("web: a drifted site config is put back and reloads the web server once", async () => {
    const site = join(root, "etc/web/sites/shop.conf");
    writeFileSync(site, "edited by hand\n");
    const drift = await converge("web");
    expect(drift.code).toBe(0);
    expect(drift.report.summary).toEqual({ ok: 15, changed: 2, failed: 0, skipped: 1 });
    expect(changed(drift.report)).toEqual([`template:${site}`, "exec:reload-web"]);
    expect(readFileSync(site, "utf8")).toContain("listen 8081;");
    expect(reloads()).toHaveLength(2);
  });

  it("db: shares base with web, and converges its own state", async () => {
    const db = await converge("db");
    expect(db.code).toBe(0);
    // The motd lists the roles, so it changes; the rest of base is already right.
    expect(changed(db.report)).toEqual([
      `template:${root}/etc/motd`,
      `directory:${root}/var/lib/db`,
      `template:${root}/etc/db.conf`,
    ]);
    expect(db.report.summary).toEqual({ ok: 5, changed: 3, failed: 0, skipped: 0 });
    expect(readFileSync(join(root, "etc/db.conf"), "utf8")).toContain("max_connections = 200");
    expect((await converge("db")).report.summary.changed).toBe(0);
  });
});
