/**
 * The README walkthrough, step by step, as a user runs it: `gantry up` as a real process, the
 * CLI as real processes, a real `git push` of examples/hello, and HTTP through the router.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PsEntry } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  eventually,
  get,
  HELLO,
  localRepo,
  push,
  routerPort,
  stopGantry,
  withToken,
} from "./helpers/paas.js";

let g: GantryProcess;
let work: string;
let port: number;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-walk-"));
  g = await startGantry();
  port = await routerPort(g);
});
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

const HOST = "hello.localhost";

/** After a deploy reports live, the old instances leave the router's table within a second
 * (they drain: deregistered from the catalog, still running); every answer is 200 meanwhile. */
async function served(body: string): Promise<void> {
  await eventually(
    `the router to serve ${JSON.stringify(body)}`,
    async () => {
      const a = await get(port, HOST);
      expect(a.status).toBe(200);
      return a.body === body ? true : undefined;
    },
    3000,
  );
}

async function ps(): Promise<PsEntry[]> {
  const r = await g.cli(["ps", "hello", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PsEntry[];
}
const runningWeb = (list: PsEntry[]): PsEntry[] =>
  list.filter((p) => p.processType === "web" && p.state === "running" && p.desired === "running");

describe("the README walkthrough", () => {
  it("create → push → curl → config → scale → releases → rollback → logs → run → info → destroy", async () => {
    // gantry apps:create hello
    const created = await g.cli(["apps:create", "hello"]);
    expect(created.code, created.stderr).toBe(0);
    const gitUrl = /git remote\s+(\S+)/.exec(created.stdout)?.[1];
    expect(gitUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/git\/hello\.git$/);

    // git push gantry main
    const repo = await localRepo(work, HELLO);
    const pushed = await push(repo, withToken(gitUrl!, g.token));
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain("remote: -----> Node app detected");
    expect(pushed.stderr).toMatch(/remote: -----> Build succeeded: artifact [0-9a-f]{12}/);
    const remoteLines = pushed.stderr.split("\n").filter((l) => l.startsWith("remote: "));
    expect(remoteLines.at(-1)).toMatch(/hello v1 deployed at http:\/\/hello\.localhost:\d+\//);
    expect(pushed.stderr).not.toContain(g.token);

    // curl http://hello.localhost:8080/
    const first = await get(port, HOST);
    expect(first).toEqual({ status: 200, body: "Hello from hello\n" });

    // gantry config:set hello GREETING=hi
    const set = await g.cli(["config:set", "hello", "GREETING=hi"], { timeoutMs: 60_000 });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/v2 is live/);
    expect(set.stdout + set.stderr).not.toMatch(/GREETING=hi/);
    await served("Hello from hello\nGREETING=hi\n");

    // gantry ps:scale hello web=3
    const scale = await g.cli(["ps:scale", "hello", "web=3"]);
    expect(scale.code, scale.stderr).toBe(0);
    expect(scale.stdout).toContain("web=3");
    const three = await eventually("3 running web instances", async () => {
      const web = runningWeb(await ps());
      return web.length === 3 ? web : undefined;
    });
    expect(three.map((p) => p.name).sort()).toEqual(["web.1", "web.2", "web.3"]);
    expect(new Set(three.map((p) => p.port)).size).toBe(3);
    expect(three.every((p) => p.release === 2)).toBe(true);

    // gantry releases hello
    const rel = await g.cli(["releases", "hello"]);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.stdout).toMatch(/^v2\s+active/m);
    expect(rel.stdout).toMatch(/^v1\s+superseded/m);

    // gantry releases:rollback hello v1 → v3 serves v1's code and config (no GREETING)
    const back1 = await g.cli(["releases:rollback", "hello", "v1"], { timeoutMs: 60_000 });
    expect(back1.code, back1.stderr).toBe(0);
    expect(back1.stdout).toMatch(/v3 is live/);
    await served("Hello from hello\n");
    // gantry releases:rollback hello v2 → v4, GREETING back
    const back2 = await g.cli(["releases:rollback", "hello", "v2"], { timeoutMs: 60_000 });
    expect(back2.code, back2.stderr).toBe(0);
    expect(back2.stdout).toMatch(/v4 is live/);
    await served("Hello from hello\nGREETING=hi\n");
    const relJson = JSON.parse((await g.cli(["releases", "hello", "--json"])).stdout) as {
      version: number;
      status: string;
    }[];
    expect(relJson.map((r) => [r.version, r.status])).toEqual([
      [4, "active"],
      [3, "superseded"],
      [2, "superseded"],
      [1, "superseded"],
    ]);
    // The rollback keeps the formation: 3 web instances of v4.
    const v4 = await eventually("3 web instances of v4", async () => {
      const web = runningWeb(await ps()).filter((p) => p.release === 4);
      return web.length === 3 ? web : undefined;
    });
    expect(v4).toHaveLength(3);

    // gantry logs hello
    const logs = await eventually("web.1 lines in the logs", async () => {
      const r = await g.cli(["logs", "hello", "-n", "1000"]);
      return r.code === 0 && / web\.1 hello: listening on \d+/.test(r.stdout) ? r : undefined;
    });
    expect(logs.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+ web\.1 hello: listening on \d+$/m);
    expect(logs.stdout).toMatch(/ build -----> Node app detected/);
    expect(logs.stdout).not.toContain("GREETING=hi");
    const onlyWeb2 = await g.cli(["logs", "hello", "-n", "1000", "--ps", "web.2"]);
    expect(onlyWeb2.code).toBe(0);
    expect(onlyWeb2.stdout).toContain(" web.2 ");
    expect(onlyWeb2.stdout).not.toContain(" web.1 ");

    // gantry run hello -- node -e '…' : output streams back; the exit code becomes the CLI's
    const run = await g.cli(
      ["run", "hello", "--", "node", "-e", "console.log(process.env.GREETING); process.exit(3)"],
      { timeoutMs: 60_000 },
    );
    expect(run.stdout.split("\n")).toContain("hi");
    expect(run.code).toBe(3);

    // gantry apps:info hello --json
    const info = await g.cli(["apps:info", "hello", "--json"]);
    expect(info.code, info.stderr).toBe(0);
    const parsed = JSON.parse(info.stdout) as { gitUrl: string; url: string; name: string };
    expect(parsed.name).toBe("hello");
    expect(parsed.gitUrl).toBe(gitUrl);
    expect(parsed.url).toBe(`http://hello.localhost:${port}/`);
    const listed = await g.cli(["apps"]);
    expect(listed.stdout).toMatch(/^hello\b/m);

    // gantry apps:destroy hello --confirm hello
    const wrong = await g.cli(["apps:destroy", "hello", "--confirm", "nope"]);
    expect(wrong.code).not.toBe(0);
    expect((await get(port, HOST)).status).toBe(200);
    const destroyed = await g.cli(["apps:destroy", "hello", "--confirm", "hello"]);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    const gone = await eventually("the router to answer 404", async () => {
      const a = await get(port, HOST);
      return a.status === 404 ? a : undefined;
    });
    expect(gone.body).toMatch(/hello/);
    const after = await g.cli(["apps", "--json"]);
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as { name: string }[]).map((a) => a.name)).not.toContain(
      "hello",
    );
    const info404 = await g.cli(["apps:info", "hello"]);
    expect(info404.code).not.toBe(0);
    // Its instances are gone: the ports the three web instances had stop answering.
    await eventually("the instances to stop", async () => {
      for (const p of v4) {
        const alive = await fetch(`http://127.0.0.1:${p.port}/`).then(
          () => true,
          () => false,
        );
        if (alive) return undefined;
      }
      return true;
    });
  }, 180_000);
});
