import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  EXIT_NO_NODE,
  EXIT_NO_RUNNER,
  EXIT_SHORT_UPLOAD,
  runCommand,
  runnerPath,
  uploadCommand,
} from "./remote.js";

// The remote scripts run here with a real sh, as a login shell on a host would run them.
const dir = mkdtempSync(join(tmpdir(), "gantry-remote-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hash = "0123456789ab";

function run(
  command: string,
  env: Record<string, string>,
  input = "",
): { code: number; out: string; err: string } {
  const r = spawnSync("sh", ["-c", command], { env, input, encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("remote commands", () => {
  const home = join(dir, "home");
  const env = { HOME: home, PATH: process.env["PATH"]! };

  it("exits 98 while the runner is missing, and runs it with stdin once uploaded", () => {
    expect(run(runCommand(hash, false), env).code).toBe(EXIT_NO_RUNNER);

    const runner =
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log("got "+s);process.exit(2)})';
    expect(run(uploadCommand(hash, Buffer.byteLength(runner)), env, runner).code).toBe(0);
    expect(readFileSync(join(home, runnerPath(hash)), "utf8")).toBe(runner);

    const r = run(runCommand(hash, false), env, "job");
    expect(r).toMatchObject({ code: 2, out: "got job\n" });
  });

  it("removes runners other versions left more than two days ago, and keeps recent ones", () => {
    const cache = join(home, ".cache/gantry");
    mkdirSync(cache, { recursive: true });
    const stale = join(cache, "runner-aaaaaaaaaaaa.mjs");
    const staleTmp = join(cache, "runner-bbbbbbbbbbbb.mjs.4242.tmp");
    const recent = join(cache, "runner-cccccccccccc.mjs");
    const unrelated = join(cache, "notes.txt");
    for (const f of [stale, staleTmp, recent, unrelated]) writeFileSync(f, "x");
    const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
    for (const f of [stale, staleTmp, unrelated]) utimesSync(f, threeDaysAgo, threeDaysAgo);

    expect(run(uploadCommand(hash, 6), env, "runner").code).toBe(0);
    expect(existsSync(join(home, runnerPath(hash)))).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(staleTmp)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(unrelated)).toBe(true);
  });

  it("keeps nothing of an upload cut short", () => {
    const other = "fedcba987654";
    const r = run(uploadCommand(other, 1000), env, "only part of it");
    expect(r.code).toBe(EXIT_SHORT_UPLOAD);
    expect(r.err).toContain("the upload was cut short");
    expect(existsSync(join(home, runnerPath(other)))).toBe(false);
    const leftovers = readdirSync(join(home, ".cache/gantry")).filter((f) => f.includes(other));
    expect(leftovers).toEqual([]);
    expect(() => uploadCommand(other, -1)).toThrow(/bad runner size/);
  });

  it("exits 97 when node is not on PATH", () => {
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const c of ["sh", "cat", "mkdir", "mv"])
      symlinkSync(
        execFileSync("sh", ["-c", `command -v ${c}`])
          .toString()
          .trim(),
        join(bin, c),
      );
    const r = run(runCommand(hash, false), { HOME: home, PATH: bin });
    expect(r.code).toBe(EXIT_NO_NODE);
    expect(r.err).toContain("node not found");
  });

  it("exits 97 when node is older than 20", () => {
    const bin = join(dir, "oldbin");
    mkdirSync(bin);
    writeFileSync(join(bin, "node"), "#!/bin/sh\necho v18.19.0\n", { mode: 0o755 });
    const r = run(runCommand(hash, false), { HOME: home, PATH: `${bin}:${process.env["PATH"]}` });
    expect(r.code).toBe(EXIT_NO_NODE);
    expect(r.err).toContain("node v18.19.0 is too old");
  });

  it("refuses anything but a 12-digit hex hash in a remote command", () => {
    expect(() => runCommand("x'; rm -rf ~; '", false)).toThrow(/12 hex digits/);
    expect(runCommand(hash, true)).toContain('exec sudo -n "$n" "$r" --lifeline');
  });
});
