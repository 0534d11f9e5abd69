/**
 * `gantry router` on its own: a second router following `gantry up`'s API with a read-only
 * token serves the app like the built-in one, keeps serving by its last table while the server
 * is dead (the instances run on) and follows it again once it is back, and refuses a token that
 * cannot read what it needs.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import {
  eventually,
  get,
  HELLO,
  localRepo,
  push,
  startLoad,
  stopGantry,
  withToken,
} from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

let g: GantryProcess;
let work: string;
let router: ChildProcess | undefined;
let routerOut = "";

/** A token file for `gantry tokens create NAME --policy …`. */
async function tokenFile(name: string, policies: string[]): Promise<string> {
  const r = await g.cli([
    "tokens",
    "create",
    name,
    ...policies.flatMap((p) => ["--policy", p]),
    "--json",
  ]);
  expect(r.code, r.stderr).toBe(0);
  const file = join(work, `${name}.token`);
  writeFileSync(file, (JSON.parse(r.stdout) as { secret: string }).secret + "\n", { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-edge-"));
  g = await startGantry();
  const created = await g.cli(["apps:create", "hello", "--json"]);
  expect(created.code, created.stderr).toBe(0);
  const { gitUrl } = JSON.parse(created.stdout) as { gitUrl: string };
  const pushed = await push(await localRepo(work, HELLO), withToken(gitUrl, g.token));
  expect(pushed.code, pushed.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  if (router !== undefined && router.exitCode === null && router.signalCode === null) {
    const exited = new Promise((r) => router!.once("exit", r));
    router.kill("SIGTERM");
    await exited;
  }
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

describe("gantry router", () => {
  it("serves the apps of the server it follows, and by its last table while the server is away", async () => {
    const file = await tokenFile("router-edge", ["app::read", "service::read"]);
    const port = await freePort();
    router = spawnCli(
      ["router", "--server", g.url, "--token-file", file, "--http-addr", `127.0.0.1:${port}`],
      { GANTRY_TOKEN: "", GANTRY_ADDR: "" },
    );
    router.stdout!.on("data", (d: Buffer) => (routerOut += d.toString()));
    router.stderr!.on("data", (d: Buffer) => (routerOut += d.toString()));
    await eventually("the router's banner", () =>
      routerOut.includes(`router on http://127.0.0.1:${port} (*.localhost)`) ? true : undefined,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${routerOut}`);
    });
    const answer = await eventually("hello through the edge router", async () => {
      const a = await get(port, "hello.localhost");
      return a.status === 200 ? a : undefined;
    });
    expect(answer.body).toBe("Hello from hello\n");
    expect((await get(port, "nope.localhost")).status).toBe(404);

    // The control plane dies (kill -9: its API is gone, the instances it started run on); the
    // router keeps routing to them by the table it had, then follows the server once it is back.
    const load = startLoad(port, "hello.localhost", { concurrency: 2, maxMs: 60_000 });
    await g.kill();
    await eventually("the router to notice", () =>
      routerOut.includes("router: cannot read the app list") ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2000));
    await g.start();
    await eventually("the router to follow the server again", () =>
      routerOut.includes("router: reading the app list again") ? true : undefined,
    );
    const r = await load.stop();
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(r.ok).toBeGreaterThan(50);

    // It follows changes: a custom domain added now is routed.
    const added = await g.cli(["domains:add", "hello", "www.example.test"]);
    expect(added.code, added.stderr).toBe(0);
    const viaDomain = await eventually("the new domain routed", async () => {
      const a = await get(port, "www.example.test");
      return a.status === 200 ? a : undefined;
    });
    expect(viaDomain.body).toBe("Hello from hello\n");
    expect(routerOut).not.toMatch(/\n\s+at /);
  }, 90_000);

  it("refuses a token that cannot read apps, and bad flags, with one line each", async () => {
    const kvOnly = await tokenFile("kv-only", ["kv:app/:read"]);
    const refused = await runCli(
      ["router", "--server", g.url, "--token-file", kvOnly, "--http-addr", "127.0.0.1:0"],
      { GANTRY_TOKEN: "", GANTRY_ADDR: "" },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("refused the token (403): the router needs app::read");

    const cases: [string[], string][] = [
      [["router", "--token", "x"], "--server is required"],
      [["router", "--server", g.url], "the router needs a token"],
      [["router", "--server", g.url, "--token", "x", "--http-addr", "nope"], "--http-addr"],
      [["router", "--server", g.url, "--token", "x", "--domain", "bad domain"], "--domain"],
      [
        ["router", "--server", g.url, "--token", "x", "--workers", "99"],
        "--workers must be a whole number",
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { GANTRY_TOKEN: "", GANTRY_ADDR: "" });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
