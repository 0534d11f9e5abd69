/**
 * The API over HTTPS beyond 127.0.0.1: `gantry server --api-addr 127.0.0.2:PORT` makes the
 * cluster CA and serves HTTPS; the CLI works with GANTRY_CA and fails with a one-line hint
 * without it; an agent (instances on 127.0.0.3) joins over HTTPS and reports ready. Join
 * tokens: an agent joins with one (no GANTRY_CA, no token) and is ready; a tampered CA hash, a
 * used-up, an expired and a revoked join token are each refused with their reason.
 */
import type { ChildProcess } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, spawnCli } from "./helpers/gantry.js";
import { git, HELLO, localRepo } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

const HOST = "127.0.0.2";
let dataDir: string;
let url: string;
let token: string;
let server: ChildProcess;
const agents: ChildProcess[] = [];
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
  for (const p of [...agents, server]) {
    if (p.exitCode !== null) continue;
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
    const agent = spawnCli(
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
        // Its app instances stop with it: without this they outlived the test run.
        "--stop-instances",
      ],
      { GANTRY_CA: join(dataDir, "ca.crt") },
    );
    agents.push(agent);
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

  it("git pushes over HTTPS with http.sslCAInfo (refused without); the hook calls back over HTTPS and v1 deploys on the agent", async () => {
    const created = await cli(["apps:create", "hello", "--json"], withCa());
    expect(created.code, created.stderr).toBe(0);
    const repo = await localRepo(bare, HELLO);
    const remote = `${url}/git/hello.git`.replace("://", `://x:${token}@`);
    const plain = await git(["push", remote, "main"], repo);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/certificate|SSL/i);
    const r = await git(
      ["-c", `http.sslCAInfo=${join(dataDir, "ca.crt")}`, "push", remote, "main"],
      repo,
    );
    expect(r.stderr).toMatch(/remote: -----> Build succeeded: artifact [0-9a-f]{12}/);
    expect(r.stderr).toContain("remote: -----> hello v1 deployed at");
    expect(r.code).toBe(0);
  }, 90_000);
});

const withCa = (): NodeJS.ProcessEnv => ({ GANTRY_CA: join(dataDir, "ca.crt") });

async function createJoinToken(args: string[]): Promise<string> {
  const r = await cli(["join-tokens", "create", ...args, "--json"], withCa());
  expect(r.stderr).toBe("");
  return (JSON.parse(r.stdout) as { token: string }).token;
}

/** Run `gantry agent --join` in a fresh data dir until it joins (true) or exits (its output). */
async function joinAgent(
  node: string,
  joinToken: string,
): Promise<{ joined: boolean; out: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-join-agent-"));
  let text = "";
  // No GANTRY_CA and no token: the join token is all the agent has.
  const agent = spawnCli(
    [
      "agent",
      "--server",
      url,
      "--join",
      joinToken,
      "--node-name",
      node,
      "--address",
      "127.0.0.3",
      "--data-dir",
      dir,
    ],
    { GANTRY_CA: "", GANTRY_TOKEN: "", GANTRY_ADDR: "" },
  );
  agents.push(agent);
  agent.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  agent.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  const joined = await until(`agent ${node}`, () =>
    text.includes(`joined   ${url}`) ? true : agent.exitCode !== null ? false : undefined,
  );
  if (!joined) await new Promise((r) => setTimeout(r, 50)); // the last of its output
  return { joined, out: text, dir };
}

async function usedOf(id: string): Promise<number> {
  const r = await cli(["join-tokens", "--json"], withCa());
  return (JSON.parse(r.stdout) as { id: string; used: number }[]).find((t) => t.id === id)!.used;
}

/** The status of a GET with this token, verifying the server against the cluster CA. */
function statusWith(secret: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, url),
      { ca: readFileSync(join(dataDir, "ca.crt")), headers: { authorization: `Bearer ${secret}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const idOf = (token: string): string => /::([a-z0-9]{6})\./.exec(token)![1]!;

describe("join tokens", () => {
  it("an agent joins with one (CA pinned, node token kept 0600) and is ready; a second join finds it used up; its revoked node token is locked out within 1 s", async () => {
    const token = await createJoinToken(["--ttl", "1h", "--uses", "1", "--labels", "zone=a"]);
    expect(token).toMatch(/^K10[0-9a-f]{64}::[a-z0-9]{6}\.[A-Za-z0-9_-]+$/);
    const der = new X509Certificate(readFileSync(join(dataDir, "ca.crt"))).raw;
    expect(token.slice(3, 67)).toBe(createHash("sha256").update(der).digest("hex"));
    const a = await joinAgent("j1", token);
    expect(a.joined, a.out).toBe(true);
    expect(statSync(join(a.dir, "node.token")).mode & 0o777).toBe(0o600);
    expect(statSync(join(a.dir, "ca.crt")).mode & 0o777).toBe(0o600);
    const j1 = await until("node j1 ready", async () => {
      const r = await cli(["nodes", "--json"], withCa());
      const list = JSON.parse(r.stdout || "[]") as {
        name: string;
        status: string;
        labels?: Record<string, string>;
      }[];
      return list.find((n) => n.name === "j1" && n.status === "ready");
    });
    expect(await usedOf(idOf(token))).toBe(1);
    // It carries its join token's labels, and `gantry nodes` shows them.
    expect(j1.labels).toEqual({ zone: "a" });
    const table = await cli(["nodes"], withCa());
    expect(table.stdout).toMatch(
      /^NODE\s+STATUS\s+INSTANCES\s+CPUS\s+MEMORY\s+ADDRESSES\s+LABELS\s+UP/m,
    );
    expect(table.stdout).toMatch(/^j1\s+ready\s.*\szone=a\s/m);

    // Its node token works, and is locked out within a second of being revoked.
    const nodeToken = readFileSync(join(a.dir, "node.token"), "utf8").trim();
    expect(await statusWith(nodeToken, "/v1/nodes/j1")).toBe(200);
    const rv = await cli(["tokens", "revoke", "node-j1"], withCa());
    expect(rv.code, rv.stderr).toBe(0);
    const revokedAt = Date.now();
    const locked = await until("the node token locked out", async () =>
      (await statusWith(nodeToken, "/v1/nodes/j1")) === 401 ? Date.now() : undefined,
    );
    expect(locked - revokedAt).toBeLessThan(1000);

    const again = await joinAgent("j2", token);
    expect(again.joined).toBe(false);
    expect(again.out).toMatch(/gantry: join token [a-z0-9]{6} is used up \(1 of 1 uses\)/);
  });

  it("a tampered CA hash: the agent refuses to connect and the token is not used", async () => {
    const token = await createJoinToken(["--uses", "5"]);
    const hex = token.slice(3, 4) === "0" ? "1" : "0";
    const tampered = `K10${hex}${token.slice(4)}`;
    const a = await joinAgent("t1", tampered);
    expect(a.joined).toBe(false);
    expect(a.out).toMatch(/is not the one the join token pins .*refusing to connect/);
    expect(existsSync(join(a.dir, "node.token"))).toBe(false);
    expect(await usedOf(idOf(token))).toBe(0);
  });

  it("an expired and a revoked join token are refused with their reason", async () => {
    const short = await createJoinToken(["--ttl", "1s"]);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await joinAgent("e1", short);
    expect(expired.joined).toBe(false);
    expect(expired.out).toMatch(/join token [a-z0-9]{6} expired at /);

    const token = await createJoinToken([]);
    const rv = await cli(["join-tokens:revoke", idOf(token)], withCa());
    expect(rv.code).toBe(0);
    const revoked = await joinAgent("r1", token);
    expect(revoked.joined).toBe(false);
    expect(revoked.out).toMatch(/join token [a-z0-9]{6} was revoked at /);
  });
});

describe("gantry up --tls on loopback", () => {
  it("serves HTTPS; the CLI finds the address and ca.crt in the data dir; the local agent is ready", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-up-tls-"));
    const [api, http] = [await freePort(), await freePort()];
    let text = "";
    const up = spawnCli(
      [
        "up",
        "--tls",
        "--data-dir",
        dir,
        "--api-addr",
        `127.0.0.1:${api}`,
        "--http-addr",
        `127.0.0.1:${http}`,
        "--https-addr",
        "127.0.0.1:0",
        "--no-registry",
      ],
      {},
    );
    agents.push(up);
    up.stdout!.on("data", (d: Buffer) => (text += d.toString()));
    up.stderr!.on("data", (d: Buffer) => (text += d.toString()));
    await until("gantry up", () => (text.includes("Ctrl-C to stop") ? true : undefined));
    expect(text).toContain(`API      https://127.0.0.1:${api}`);
    // Only the data dir: its api.addr says https, its ca.crt is trusted.
    const env = { GANTRY_DATA_DIR: dir, GANTRY_CA: "" };
    const nodes = await until("the local node", async () => {
      const r = await runCli(["nodes", "--json"], env);
      const list = JSON.parse(r.stdout || "[]") as { status: string }[];
      return list.some((n) => n.status === "ready") ? r : undefined;
    });
    expect(nodes.code).toBe(0);
  });
});
