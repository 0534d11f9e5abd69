/**
 * Instance ports as a user meets them (issue 19): `gantry up --port-range`, a `git push` whose
 * instance finds its port taken by another program between the agent's pick and its bind — the
 * instance moves, the deploy succeeds and says so — and a range that overlaps the kernel's
 * ephemeral ports refused by `gantry up` and `gantry agent` in one line when it was given, and
 * chosen around (said in one line) when it is the default: those run in a network namespace of
 * their own (root), whose ip_local_port_range the test sets without touching the host's.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readEphemeralPorts } from "../src/agent/apps/port-range.js";
import type { PsEntry } from "../src/model/app-views.js";
import { GANTRY_BIN, runCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { netSysctl, runInNetns } from "./helpers/netns.js";
import {
  eventually,
  get,
  localRepo,
  push,
  routerPort,
  stopGantry,
  withToken,
} from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

const FIRST = 31980;
const LAST = 31984;

let g: GantryProcess;
let work: string;
let squatter: Server | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-paas-ports-"));
  g = await startGantry({ args: ["--port-range", `${FIRST}-${LAST}`] });
});
afterAll(async () => {
  await new Promise((r) => (squatter === undefined ? r(undefined) : squatter.close(r)));
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

/** An app that binds every address on $PORT, but only once `go` exists. */
const lateApp = (go: string): Record<string, string> => ({
  "package.json": JSON.stringify({
    name: "late",
    private: true,
    scripts: { start: "node server.js" },
  }),
  "server.js": `
const fs = require("node:fs");
const http = require("node:http");
const port = Number(process.env.PORT);
(function wait() {
  if (!fs.existsSync(${JSON.stringify(go)})) return setTimeout(wait, 10);
  http.createServer((q, s) => s.end("late on " + port)).listen(port, () => console.log("listening on " + port));
})();
process.on("SIGTERM", () => process.exit(0));
`,
});

async function ps(app: string): Promise<PsEntry[]> {
  const r = await g.cli(["ps", app, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PsEntry[];
}

describe("instance ports with gantry up", () => {
  it("a push whose port another program takes before the app binds it still deploys", async () => {
    const created = await g.cli(["apps:create", "late"]);
    expect(created.code, created.stderr).toBe(0);
    const gitUrl = /git remote\s+(\S+)/.exec(created.stdout)![1]!;
    const go = join(work, "go");
    const repo = await localRepo(work, lateApp(go));
    const pushed = push(repo, withToken(gitUrl, g.token));

    const first = await eventually(
      "web.1 started, waiting to bind",
      async () => (await ps("late")).find((p) => p.name === "web.1" && p.pid !== undefined),
      60_000,
    );
    const from = first.port!;
    expect(from).toBeGreaterThanOrEqual(FIRST);
    expect(from).toBeLessThanOrEqual(LAST);
    squatter = await new Promise<Server>((resolve, reject) => {
      const srv = createServer((c) => c.destroy());
      srv.once("error", reject);
      srv.listen(from, "127.0.0.1", () => resolve(srv));
    });
    writeFileSync(go, "");

    const res = await pushed;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/remote: .*late v1 deployed at/);
    expect(res.stderr).toContain(`port ${from} was taken`);
    // A deploy ends when the check passes, which may be before the instance's first second
    // up makes it "running": wait for that, then look at what it is.
    const web = await eventually("web.1 running", async () =>
      (await ps("late")).find((p) => p.processType === "web" && p.state === "running"),
    );
    expect(web).toMatchObject({ name: "web.1", state: "running", restarts: 0 });
    expect(web!.port).not.toBe(from);
    expect(web!.port).toBeGreaterThanOrEqual(FIRST);
    expect(web!.port).toBeLessThanOrEqual(LAST);
    expect(await get(await routerPort(g), "late.localhost")).toEqual({
      status: 200,
      body: `late on ${web!.port}`,
    });
    const logs = await g.cli(["logs", "late", "-n", "100"]);
    expect(logs.stdout).toContain(
      `web.1 gantry: port ${from} was taken by another program; moved to ${web!.port}`,
    );
  });
});

describe("a port range inside the kernel's ephemeral ports", () => {
  const eph = readEphemeralPorts();
  const overlap =
    eph === undefined ? "" : `${Math.max(1024, eph.range.first - 100)}-${eph.range.first + 100}`;
  const said = (stderr: string): void => {
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^gantry: the instance port range ${overlap} overlaps the kernel's ephemeral port range ${eph!.range.first}-${eph!.range.last} .*--port-range`,
      ),
    );
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it("is refused by gantry up before anything starts", async () => {
    expect(eph).toBeDefined(); // Linux: the agent runs instances through /proc anyway
    const dir = mkdtempSync(join(work, "up-"));
    const api = await freePort();
    const r = await runCli(
      ["up", "--data-dir", dir, "--api-addr", `127.0.0.1:${api}`, "--port-range", overlap],
      {},
      { timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    said(r.stderr);
    expect(existsSync(join(dir, "admin.token"))).toBe(false); // no server was started
  });

  it("is refused by gantry agent", async () => {
    const r = await runCli(
      [
        "agent",
        "--server",
        g.url,
        "--token",
        "x",
        "--data-dir",
        join(work, "agent"),
        "--port-range",
        overlap,
      ],
      { GANTRY_TOKEN: "" },
      { timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    said(r.stderr);
  });

  it("a range that is no range is refused naming the flag", async () => {
    const r = await runCli(
      ["agent", "--server", g.url, "--token", "x", "--port-range", "32000-20000"],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'gantry: --port-range must be FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, e.g. 20000-32000; got "32000-20000" (--port-range)',
    );
  });
});

describe("the default range where the kernel's ephemeral ports cover it", () => {
  const hostRange = netSysctl("net.ipv4.ip_local_port_range");
  const inNetns = (args: string[], kernelRange: string, until?: RegExp) =>
    runInNetns([process.execPath, GANTRY_BIN, ...args], {
      sysctls: { "net.ipv4.ip_local_port_range": kernelRange },
      env: { NO_COLOR: "1", GANTRY_TOKEN: "" },
      ...(until === undefined ? {} : { until }),
      timeoutMs: 30_000,
    });
  const notes = (stderr: string): string[] =>
    stderr.split("\n").filter((l) => l.includes("instance ports:"));

  it("gantry up starts all the same, saying which range and why", async () => {
    const dir = mkdtempSync(join(work, "wide-"));
    const r = await inNetns(["up", "--data-dir", dir], "1024 65535", /Ctrl-C to stop/);
    expect(r.stdout).toContain("Gantry is up");
    expect(notes(r.stderr)).toEqual([
      "agent: instance ports: 20000-32000 although the kernel's ephemeral ports 1024-65535 " +
        "(net.ipv4.ip_local_port_range) overlap the default 20000-32000 in 20000-32000 and no " +
        "1000 ports in a row lie outside them: an instance whose port an outgoing connection " +
        "takes moves to another; to avoid that, reserve them: " +
        "sysctl -w net.ipv4.ip_local_reserved_ports=20000-32000",
    ]);
    expect(r.stdout, `exit ${r.code}; stderr: ${r.stderr}`).toContain("stopped");
    expect(r.code).toBe(0);
    expect(netSysctl("net.ipv4.ip_local_port_range")).toBe(hostRange);
  });

  it("gantry agent takes the largest range outside them, saying so", async () => {
    const r = await inNetns(
      [
        "agent",
        "--server",
        "http://127.0.0.1:9",
        "--token",
        "x",
        "--data-dir",
        join(work, "wide-agent"),
      ],
      "10000 65535",
      /Ctrl-C stops the agent/,
    );
    expect(notes(r.stderr)).toHaveLength(1);
    expect(notes(r.stderr)[0]).toMatch(
      /Z agent: instance ports: 1024-9999, the largest range outside the kernel's ephemeral ports, because the kernel's ephemeral ports 10000-65535 .* \(--port-range chooses another\)$/,
    );
    expect(r.stdout).toContain("agent for node");
  });

  it("a --port-range given is still refused there, in one line naming both ranges", async () => {
    const dir = mkdtempSync(join(work, "wide-given-"));
    const r = await inNetns(["up", "--data-dir", dir, "--port-range", "20000-32000"], "1024 65535");
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^gantry: the instance port range 20000-32000 overlaps the kernel's ephemeral port range 1024-65535 /,
    );
    expect(existsSync(join(dir, "admin.token"))).toBe(false);
  });
});
