/**
 * The API over HTTPS beyond 127.0.0.1: `gantry server --api-addr 127.0.0.2:PORT` makes the
 * cluster CA and serves HTTPS; the CLI works with GANTRY_CA and fails with a one-line hint
 * without it; an agent (instances on 127.0.0.3) joins over HTTPS and reports ready.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";

const HOST = "127.0.0.2";
let dataDir: string;
let url: string;
let token: string;
let server: ChildProcess;
let agent: ChildProcess | undefined;
let out = "";
// An empty data dir for CLI runs: no ca.crt or token to fall back on.
const bare = mkdtempSync(join(tmpdir(), "gantry-tls-cli-"));

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}:\n${out}`);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gantry-tls-"));
  const port = await freePort(HOST);
  server = spawnCli(
    ["server", "--data-dir", dataDir, "--api-addr", `${HOST}:${port}`, "--no-registry"],
    {},
  );
  server.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  url = await until("the API line", () => /API +(\S+)/.exec(out)?.[1]);
  token = readFileSync(join(dataDir, "admin.token"), "utf8").trim();
}, 40_000);

afterAll(async () => {
  for (const p of [agent, server]) {
    if (p === undefined || p.exitCode !== null) continue;
    await new Promise((r) => {
      p.once("exit", r);
      p.kill("SIGTERM");
    });
  }
});

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(args, { GANTRY_ADDR: url, GANTRY_TOKEN: token, GANTRY_DATA_DIR: bare, ...env });

describe("the API over HTTPS", () => {
  it("serves HTTPS beyond 127.0.0.1 with a CA it made (key 0600) and prints the hints", () => {
    expect(url).toMatch(/^https:\/\/127\.0\.0\.2:\d+$/);
    expect(statSync(join(dataDir, "ca.key")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, "ca.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(out).toContain(`GANTRY_CA=${join(dataDir, "ca.crt")}`);
    expect(out).toContain("GIT_SSL_CAINFO=");
  });

  it("the CLI works with GANTRY_CA", async () => {
    const r = await cli(["nodes", "--json"], { GANTRY_CA: join(dataDir, "ca.crt") });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it("without GANTRY_CA the CLI fails with one line saying what to do", async () => {
    const r = await cli(["nodes"]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /not signed by a CA this client trusts: set GANTRY_CA to the cluster's ca\.crt/,
    );
  });

  it("a GANTRY_CA that is not a certificate is named", async () => {
    const r = await cli(["nodes"], { GANTRY_CA: join(dataDir, "nope.crt") });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GANTRY_CA: cannot read .*nope\.crt \(ENOENT\)/);
  });

  it("an agent with a node token and GANTRY_CA joins over HTTPS and is ready", async () => {
    const t = await cli(
      [
        "tokens",
        "create",
        "agent-n3",
        "--policy",
        "node:n3:write",
        "--policy",
        "service::write",
        "--json",
      ],
      { GANTRY_CA: join(dataDir, "ca.crt") },
    );
    expect(t.code).toBe(0);
    const secret = (JSON.parse(t.stdout) as { secret: string }).secret;
    let agentOut = "";
    agent = spawnCli(
      [
        "agent",
        "--server",
        url,
        "--token",
        secret,
        "--node-name",
        "n3",
        "--address",
        "127.0.0.3",
        "--data-dir",
        mkdtempSync(join(tmpdir(), "gantry-tls-agent-")),
      ],
      { GANTRY_CA: join(dataDir, "ca.crt") },
    );
    agent.stdout!.on("data", (d: Buffer) => (agentOut += d.toString()));
    agent.stderr!.on("data", (d: Buffer) => (agentOut += d.toString()));
    await until("the agent's join", () => (agentOut.includes("joined") ? true : undefined));
    const nodes = await until("node n3 ready", async () => {
      const r = await cli(["nodes", "--json"], { GANTRY_CA: join(dataDir, "ca.crt") });
      const list = JSON.parse(r.stdout || "[]") as { name: string; status: string }[];
      return list.find((n) => n.name === "n3" && n.status === "ready") ? list : undefined;
    });
    expect(nodes.map((n) => n.name)).toContain("n3");
  });
});
