/**
 * Tests before release (issue 15), as a user meets them: `gantry up` as a real process, real
 * `git push`es of a small app whose Procfile has a `test:` line, the CLI as real processes. A
 * failing test refuses the push (nothing released, its output in the push), a passing one
 * releases, the tests see the TEST config (and CI=true) but not a production-only value, a
 * hanging test is killed at its limit, and `gantry builds` shows each outcome.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Build } from "../src/model/app.js";
import type { PsEntry } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { commitFile, eventually, localRepo, push, stopGantry, withToken } from "./helpers/paas.js";

let g: GantryProcess;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-tests-"));
  g = await startGantry();
});
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

const SERVER = `import { createServer } from "node:http";
createServer((q, r) => r.end("ok\\n")).listen(Number(process.env.PORT));
`;
/** Prints what it sees, then exits with the code in outcome.txt ("hang": never ends). */
const TEST = `import { readFileSync } from "node:fs";
const outcome = readFileSync("outcome.txt", "utf8").trim();
console.log("suite: TEST_DB=" + process.env.TEST_DB + " PROD_ONLY=" + (process.env.PROD_ONLY ?? "unset") + " CI=" + process.env.CI);
if (outcome === "hang") setInterval(() => {}, 1000);
else { console.log("suite: " + (outcome === "0" ? "all passed" : "1 failing")); process.exitCode = Number(outcome); }
`;
const FILES = {
  "package.json": JSON.stringify({ name: "tested", private: true, type: "module" }),
  "server.js": SERVER,
  "test.js": TEST,
  Procfile: "web: node server.js\ntest: node test.js\n",
  "outcome.txt": "1\n",
};

async function cliOk(args: string[]): Promise<string> {
  const r = await g.cli(args, { timeoutMs: 60_000 });
  expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

const remoteOut = (stderr: string): string =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("remote: "))
    .join("\n");

describe("tests before release", () => {
  it("refuses a failing push, releases a passing one, runs with TEST config, kills a hang", async () => {
    const created = await cliOk(["apps:create", "tested"]);
    const url = withToken(/git remote\s+(\S+)/.exec(created)![1]!, g.token);
    // TEST config: no release; readable with --scope test only.
    const setTest = await cliOk([
      "config:set",
      "tested",
      "TEST_DB=postgres://t",
      "--scope",
      "test",
    ]);
    expect(setTest).toMatch(/TEST config: set TEST_DB \(no release/);
    const testCfg = JSON.parse(await cliOk(["config", "tested", "--scope", "test", "--json"]));
    expect(testCfg).toEqual({ TEST_DB: "postgres://t" });
    expect(JSON.parse(await cliOk(["config", "tested", "--json"]))).toEqual({});

    // 1. A failing test: the push is refused, its output shown, nothing released.
    const repo = await localRepo(work, FILES);
    const failed = await push(repo, url);
    expect(failed.code).not.toBe(0);
    const out1 = remoteOut(failed.stderr);
    expect(out1).toContain("-----> Running tests: node test.js");
    expect(out1).toContain("suite: TEST_DB=postgres://t PROD_ONLY=unset CI=true");
    expect(out1).toContain("suite: 1 failing");
    expect(out1).toContain("tests failed (exit 1): no release was made");
    expect(JSON.parse(await cliOk(["releases", "tested", "--json"]))).toEqual([]);

    // 2. A passing test: released.
    await commitFile(repo, "outcome.txt", "0\n");
    const passed = await push(repo, url);
    expect(passed.code, passed.stderr).toBe(0);
    const out2 = remoteOut(passed.stderr);
    expect(out2).toContain("suite: all passed");
    expect(out2).toMatch(/Tests passed in/);
    expect(out2).toMatch(/tested v1 deployed at/);

    // 3. A production-only value does not reach the tests (and TEST_DB not the release).
    await cliOk(["config:set", "tested", "PROD_ONLY=secret"]);
    // apps:set test=… comes before the Procfile's line.
    await cliOk(["apps:set", "tested", "test=echo from-the-setting && node test.js"]);
    await commitFile(repo, "server.js", SERVER + "// v2\n");
    const again = await push(repo, url);
    expect(again.code, again.stderr).toBe(0);
    expect(remoteOut(again.stderr)).toContain("suite: TEST_DB=postgres://t PROD_ONLY=unset");
    expect(remoteOut(again.stderr)).toContain("remote:        from-the-setting");
    await cliOk(["apps:set", "tested", "test="]);
    expect(JSON.parse(await cliOk(["config", "tested", "--json"]))).toEqual({
      PROD_ONLY: "secret",
    });

    // 4. A test that hangs is killed at its limit; the push is refused.
    await cliOk(["apps:set", "tested", "test-timeout=3s"]);
    expect(await cliOk(["apps:info", "tested"])).toMatch(
      /Tests:\s+node test\.js \(Procfile; time limit 3 s\)/,
    );
    await commitFile(repo, "outcome.txt", "hang\n");
    const started = Date.now();
    const hung = await push(repo, url);
    expect(hung.code).not.toBe(0);
    expect(remoteOut(hung.stderr)).toMatch(/tests timed out after 3 s .*no release was made/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const releases = JSON.parse(await cliOk(["releases", "tested", "--json"])) as unknown[];
    expect(releases).toHaveLength(3); // v1 push, v2 config, v3 push: none from the hang

    // 5. gantry builds shows each build's test.
    const builds = JSON.parse(await cliOk(["builds", "tested", "--json"])) as Build[];
    expect(builds.map((b) => b.test?.status)).toEqual(["timeout", "passed", "passed", "failed"]);
    expect(builds[3]!.test).toMatchObject({ exitCode: 1, command: "node test.js" });
    expect(builds[0]!.test!.durationMs).toBeGreaterThanOrEqual(3000);
    const table = await cliOk(["builds", "tested"]);
    expect(table).toMatch(/ID\s+COMMIT\s+STATUS\s+TEST\s+TEST TIME\s+STARTED/);
    expect(table).toMatch(/succeeded\s+timeout\s+3\.\ds/);
    expect(table).toContain("tests timed out after 3 s");
  }, 240_000);

  it("stops the test instance when the pusher goes away", async () => {
    const created = await cliOk(["apps:create", "gone"]);
    const url = withToken(/git remote\s+(\S+)/.exec(created)![1]!, g.token);
    const repo = await localRepo(work, { ...FILES, "outcome.txt": "hang\n" });
    const pusher = spawn("git", ["push", "--force", url, "main"], {
      cwd: repo,
      env: { PATH: process.env["PATH"], HOME: repo, GIT_TERMINAL_PROMPT: "0" },
      stdio: ["ignore", "ignore", "pipe"],
      // Its own process group, as a terminal's Ctrl-C reaches git and its remote helper.
      detached: true,
    });
    let err = "";
    pusher.stderr.on("data", (c: Buffer) => (err += c.toString()));
    await eventually("the test to run", () => (err.includes("suite: TEST_DB") ? true : undefined));
    process.kill(-pusher.pid!, "SIGINT");
    const build = await eventually("the test run recorded as cancelled", async () => {
      const [b] = JSON.parse(await cliOk(["builds", "gone", "--json"])) as Build[];
      return b?.test?.status === "failed" ? b : undefined;
    });
    expect(build.test!.error).toMatch(/cancelled/);
    const left = await eventually("the test instance gone", async () => {
      const ps = JSON.parse(await cliOk(["ps", "gone", "--json"])) as PsEntry[];
      return ps.every((p) => p.processType !== "test") ? ps : undefined;
    });
    expect(left).toEqual([]);
    expect(JSON.parse(await cliOk(["releases", "gone", "--json"]))).toEqual([]);
  }, 120_000);
});
