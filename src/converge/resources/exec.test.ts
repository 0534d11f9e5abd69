import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ResourceFailed } from "../errors.js";
import { testContext } from "./test-context.js";
import type { ResourceContext } from "../types.js";
import { execType, type ExecProps } from "./exec.js";

function context(check = false, signal = new AbortController().signal) {
  const ctx: ResourceContext = { ...testContext({ check, secrets: ["hunter2"] }), signal };
  return { ctx, logs: (ctx as ResourceContext & { logs: string[] }).logs };
}

function props(raw: unknown): ExecProps {
  const p = execType.fields.parse(raw);
  const problem = execType.validate?.("t", p);
  if (problem !== undefined) throw new Error(`${problem.field}: ${problem.message}`);
  return p;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-exec-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A command that appends a line to `count` each time it runs, and creates `marker`. */
function counting(extra: Record<string, unknown> = {}): ExecProps {
  return props({
    command: ["/bin/sh", "-c", `echo run >> ${dir}/count && touch ${dir}/marker`],
    ...extra,
  });
}
const runs = (): number =>
  existsSync(join(dir, "count"))
    ? readFileSync(join(dir, "count"), "utf8").split("\n").length - 1
    : 0;

describe("exec", () => {
  it("with creates: runs once, the second inspect reports no changes", async () => {
    const p = counting({ creates: join(dir, "marker") });
    const first = await execType.inspect("seed", p, context().ctx);
    expect(first.changes).toEqual([
      `run /bin/sh -c 'echo run >> ${dir}/count && touch ${dir}/marker'`,
    ]);
    await first.apply();
    expect(runs()).toBe(1);
    const second = await execType.inspect("seed", p, context().ctx);
    expect(second.changes).toEqual([]);
    await second.apply();
    expect(runs()).toBe(1);
  });

  it("drift: check mode reports the run when the creates file is gone, and runs nothing", async () => {
    const p = counting({ creates: join(dir, "marker") });
    await (await execType.inspect("seed", p, context().ctx)).apply();
    rmSync(join(dir, "marker"));
    const check = await execType.inspect("seed", p, context(true).ctx);
    expect(check.changes).toHaveLength(1);
    expect(runs()).toBe(1);
    const real = await execType.inspect("seed", p, context().ctx);
    expect(real.changes).toEqual(check.changes);
    await real.apply();
    expect(runs()).toBe(2);
    expect(existsSync(join(dir, "marker"))).toBe(true);
  });

  it("unless and onlyIf guards run (also in check mode) and decide", async () => {
    const flag = join(dir, "flag");
    const unless = counting({ unless: ["test", "-e", flag] });
    const onlyIf = counting({ onlyIf: { shell: `test -e ${flag}` } });
    expect((await execType.inspect("u", unless, context(true).ctx)).changes).toHaveLength(1);
    expect((await execType.inspect("o", onlyIf, context(true).ctx)).changes).toEqual([]);
    writeFileSync(flag, "");
    expect((await execType.inspect("u", unless, context(true).ctx)).changes).toEqual([]);
    const o = await execType.inspect("o", onlyIf, context().ctx);
    expect(o.changes).toHaveLength(1);
    await o.apply();
    expect(runs()).toBe(1);
  });

  it("without guards always reports a change", async () => {
    const p = counting();
    await (await execType.inspect("x", p, context().ctx)).apply();
    expect((await execType.inspect("x", p, context().ctx)).changes).toHaveLength(1);
  });

  it("streams output lines to the log, with env and cwd", async () => {
    const { ctx, logs } = context();
    const p = props({
      shell: 'echo "$GREETING from $(pwd)"; echo err >&2; printf tail',
      env: { GREETING: "hello", N: 3 },
      cwd: dir,
    });
    expect((await execType.inspect("x", p, ctx)).changes[0]).toMatch(/^run \/bin\/sh -c /);
    await (await execType.inspect("x", p, ctx)).apply();
    expect(logs).toContain(`hello from ${dir}`);
    expect(logs).toContain("err");
    expect(logs).toContain("tail");
  });

  it("a failing command reports its exit code and the last 20 lines of output", async () => {
    const p = props({
      command: [
        "/bin/sh",
        "-c",
        "for i in $(seq 1 30); do echo line$i; done; echo hunter2; exit 3",
      ],
    });
    const i = await execType.inspect("x", p, context().ctx);
    const err = await i.apply().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ResourceFailed);
    const msg = (err as Error).message;
    expect(msg).toContain("exit code 3");
    expect(msg).toContain("line30");
    expect(msg).toContain("line12");
    expect(msg).not.toContain("line11\n");
    expect(msg).toContain("[secret]");
    expect(msg).not.toContain("hunter2");
  });

  it("a missing program fails with a clear message", async () => {
    const i = await execType.inspect("x", props({ command: ["/nonexistent/prog"] }), context().ctx);
    await expect(i.apply()).rejects.toThrow(/could not start: .*ENOENT/);
  });

  it("a timeout kills the whole process group", async () => {
    const pidFile = join(dir, "child.pid");
    // The shell starts a grandchild that would outlive a plain kill of the shell.
    const p = props({
      shell: `sleep 30 & echo $! > ${pidFile}; wait`,
      timeout: "500ms",
    });
    const started = Date.now();
    const i = await execType.inspect("x", p, context().ctx);
    await expect(i.apply()).rejects.toThrow(/timed out after 500ms \(process group killed\)/);
    expect(Date.now() - started).toBeLessThan(5000);
    const child = Number(readFileSync(pidFile, "utf8"));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(child)).toBe(false);
  });

  it("a daemon the command leaves behind does not hold the run open", async () => {
    const pidFile = join(dir, "daemon.pid");
    const p = props({ shell: `sleep 30 & echo $! > ${pidFile}; echo started` });
    const started = Date.now();
    const { ctx, logs } = context();
    await (await execType.inspect("x", p, ctx)).apply();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(logs).toEqual(["started"]);
    const daemon = Number(readFileSync(pidFile, "utf8"));
    expect(alive(daemon)).toBe(true);
    process.kill(daemon, "SIGKILL");
  });

  it("an abort kills the command", async () => {
    const ac = new AbortController();
    const i = await execType.inspect(
      "x",
      props({ command: ["sleep", "30"] }),
      context(false, ac.signal).ctx,
    );
    setTimeout(() => ac.abort(), 200);
    await expect(i.apply()).rejects.toThrow(/cancelled/);
  });

  it("user: runs as nobody", async () => {
    const out = join(dir, "whoami");
    const p = props({
      shell: `id -un > ${out}; id -G >> ${out}; echo $HOME >> ${out}`,
      user: "nobody",
    });
    // nobody cannot write into a root-owned 0700 temp dir: make it writable.
    (await import("node:fs")).chmodSync(dir, 0o777);
    await (await execType.inspect("x", p, context().ctx)).apply();
    const [name, groups, home] = readFileSync(out, "utf8").trim().split("\n");
    expect(name).toBe("nobody");
    expect(groups).not.toMatch(/\b0\b/);
    expect(home).toBe("/nonexistent");
    expect(statSync(out).uid).not.toBe(0);
  });

  it("a missing user: would run in check mode, fails otherwise", async () => {
    const p = props({ command: ["true"], user: "no-such-user-gantry" });
    const check = await execType.inspect("x", p, context(true).ctx);
    expect(check.changes).toEqual(["run true (user no-such-user-gantry does not exist yet)"]);
    await expect(execType.inspect("x", p, context().ctx)).rejects.toThrow(/does not exist/);
  });

  it("validation: exactly one of command and shell; absolute creates", () => {
    expect(() => props({})).toThrow(/command: set exactly one/);
    expect(() => props({ command: ["a"], shell: "a" })).toThrow(/exactly one/);
    expect(() => props({ command: ["a"], creates: "rel" })).toThrow(/creates: must be an absolute/);
    expect(() => props({ command: ["a"], timeout: "soon" })).toThrow();
    expect(() => props({ command: ["a"], bogus: 1 })).toThrow();
    expect(() => props({ command: [] })).toThrow();
  });
});

/** Running (a zombie waiting for a container's pid 1 to reap it counts as dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}
