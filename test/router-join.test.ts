/**
 * A standalone `gantry router` that joins like an agent and serves HTTPS with the server's
 * certificates. `gantry up` serves its API over HTTPS on 127.0.0.2; the router joins it with a
 * router join token (no CA, no token given: the join token is all it has), serves an app over
 * HTTPS with the certificate added by `gantry certs:add`, and picks up a replaced one within
 * seconds; after a restart it reuses its router token. A tampered CA hash makes it refuse to
 * connect, an agent's join token is refused to it, and a node token cannot read the keys.
 */
import type { ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSigned, type TestCert } from "./helpers/certs.js";
import { runCli, spawnCli } from "./helpers/gantry.js";
import { eventually, git, HELLO, localRepo } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

const HOST = "127.0.0.2";
const SITE = "www.example.com";
let dataDir: string;
let url: string;
let token: string;
let up: ChildProcess;
let out = "";
const procs: ChildProcess[] = [];
const work = mkdtempSync(join(tmpdir(), "gantry-router-join-"));

const withCa = (): NodeJS.ProcessEnv => ({
  GANTRY_ADDR: url,
  GANTRY_TOKEN: token,
  GANTRY_CA: join(dataDir, "ca.crt"),
  GANTRY_DATA_DIR: work,
});
const cli = (args: string[]) => runCli(args, withCa());

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gantry-router-join-up-"));
  const [api, http] = [await freePort(HOST), await freePort()];
  up = spawnCli(
    [
      "up",
      "--data-dir",
      dataDir,
      "--api-addr",
      `${HOST}:${api}`,
      "--http-addr",
      `127.0.0.1:${http}`,
      "--https-addr",
      "127.0.0.1:0",
      "--no-registry",
    ],
    {},
  );
  procs.push(up);
  up.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  up.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await eventually("gantry up", () => out.includes("Ctrl-C to stop"), 40_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${out}`);
  });
  url = /API +(https:\/\/\S+)/.exec(out)![1]!;
  token = readFileSync(join(dataDir, "admin.token"), "utf8").trim();

  expect((await cli(["apps:create", "hello"])).code).toBe(0);
  expect((await cli(["domains:add", "hello", SITE])).code).toBe(0);
  const repo = await localRepo(work, HELLO);
  const remote = `${url}/git/hello.git`.replace("://", `://x:${token}@`);
  const pushed = await git(
    ["-c", `http.sslCAInfo=${join(dataDir, "ca.crt")}`, "push", remote, "main"],
    repo,
  );
  expect(pushed.stderr).toContain("remote: -----> hello v1 deployed at");
}, 120_000);

afterAll(async () => {
  for (const p of procs.reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    await new Promise((r) => {
      p.once("exit", r);
      p.kill("SIGTERM");
    });
  }
});

async function addCert(c: TestCert, name: string): Promise<void> {
  writeFileSync(join(work, `${name}.crt`), c.certPem);
  writeFileSync(join(work, `${name}.key`), c.keyPem);
  const r = await cli([
    "certs:add",
    "hello",
    "--cert",
    join(work, `${name}.crt`),
    "--key",
    join(work, `${name}.key`),
  ]);
  expect(r.code, r.stderr).toBe(0);
}

async function createJoinToken(args: string[]): Promise<string> {
  const r = await cli(["join-tokens", "create", ...args, "--json"]);
  expect(r.stderr).toBe("");
  return (JSON.parse(r.stdout) as { token: string }).token;
}

interface Router {
  proc: ChildProcess;
  out: () => string;
  https: number;
}

/** `gantry router --join` with nothing else to go on; resolves once it serves or has exited. */
async function startRouter(joinToken: string, dir: string): Promise<Router> {
  const https = await freePort();
  let text = "";
  const proc = spawnCli(
    [
      "router",
      "--server",
      url,
      "--join",
      joinToken,
      "--data-dir",
      dir,
      "--name",
      "edge-1",
      "--http-addr",
      `127.0.0.1:${await freePort()}`,
      "--https-addr",
      `127.0.0.1:${https}`,
    ],
    { GANTRY_CA: "", GANTRY_TOKEN: "", GANTRY_ADDR: "" },
  );
  procs.push(proc);
  proc.stdout!.on("data", (d: Buffer) => (text += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  await eventually(
    "the router to serve or exit",
    () => text.includes("Ctrl-C to stop") || proc.exitCode !== null,
  );
  await new Promise((r) => setTimeout(r, 50)); // the last of its output
  return { proc, out: () => text, https };
}

/** GET / over HTTPS through the router with SNI www.example.com, trusting only `ca`. */
function get(port: number, ca: string): Promise<{ status: number; body: string; cert: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, servername: SITE, ca, headers: { host: SITE }, agent: false },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, cert }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

const fingerprint = (c: TestCert): string => new X509Certificate(c.certPem).fingerprint256;

describe("gantry router --join", () => {
  it("refuses to connect when the join token's CA hash is tampered with, and the token is not used", async () => {
    const good = await createJoinToken(["--router", "--uses", "1"]);
    const tampered = `K10${good.slice(3, 4) === "0" ? "1" : "0"}${good.slice(4)}`;
    const dir = join(work, "tampered");
    const r = await startRouter(tampered, dir);
    expect(r.proc.exitCode).toBe(1);
    expect(r.out()).toMatch(
      /gantry: the server's CA \(sha256 [0-9a-f]{16}…\) is not the one the join token pins .*refusing to connect/,
    );
    expect(r.out().trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(dir, "router.token"))).toBe(false);
    const list = JSON.parse((await cli(["join-tokens", "--json"])).stdout) as {
      token?: string;
      used: number;
      kind?: string;
    }[];
    expect(list.filter((t) => t.kind === "router").map((t) => t.used)).toEqual([0]);
    const table = await cli(["join-tokens"]);
    expect(table.stdout).toMatch(/^ID\s+FOR\s+STATE\s+USES/m);
    expect(table.stdout).toMatch(/^[a-z0-9]{6}\s+routers\s+valid\s+0\/1\s/m);
  });

  it("refuses an agent's join token with one line saying what to make", async () => {
    const nodeToken = await createJoinToken(["--uses", "1"]);
    const r = await startRouter(nodeToken, join(work, "wrong-kind"));
    expect(r.proc.exitCode).toBe(1);
    expect(r.out().trim()).toMatch(
      /^gantry: join token [a-z0-9]{6} is for agents \(gantry agent --join\), not routers: make a router join token with gantry join-tokens create --router$/,
    );
  });

  it("joins with a router join token, serves the app over HTTPS with the certs:add certificate, follows a replacement within 2 s, and reuses its token after a restart", async () => {
    const first = await selfSigned([SITE]);
    await addCert(first, "first");
    const joinToken = await createJoinToken(["--router", "--uses", "1"]);
    const dir = join(work, "edge");
    const r = await startRouter(joinToken, dir);
    expect(r.proc.exitCode, r.out()).toBe(null);
    expect(r.out()).toContain("joined with a router join token: router token router-edge-1");
    expect(statSync(join(dir, "router.token")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "ca.crt")).mode & 0o777).toBe(0o600);

    const served = await eventually("hello over HTTPS", () => get(r.https, first.certPem));
    expect(served.status).toBe(200);
    expect(served.body).toBe("Hello from hello\n");
    expect(served.cert).toBe(fingerprint(first));

    const second = await selfSigned([SITE]);
    await addCert(second, "second");
    const added = Date.now();
    await eventually("the replaced certificate", async () => {
      const res = await get(r.https, second.certPem).catch(() => undefined);
      return res?.cert === fingerprint(second) ? res : undefined;
    });
    const took = Date.now() - added;
    expect(took).toBeLessThan(2000);
    // The key is never in its log lines.
    expect(r.out()).not.toContain("PRIVATE KEY");

    // Restarted with the same (now used-up) join token: it reuses the router token it kept.
    await new Promise((res) => {
      r.proc.once("exit", res);
      r.proc.kill("SIGTERM");
    });
    const again = await startRouter(joinToken, dir);
    expect(again.proc.exitCode, again.out()).toBe(null);
    expect(again.out()).toContain(`joined before: using the router token in ${dir}`);
    const res = await eventually("hello over HTTPS after the restart", () =>
      get(again.https, second.certPem),
    );
    expect(res.body).toBe("Hello from hello\n");
  }, 60_000);

  it("a node token cannot read the certificate bundle (403)", async () => {
    const t = await cli([
      "tokens",
      "create",
      "node-n9",
      "--policy",
      "node:n9:write",
      "--policy",
      "service::write",
      "--json",
    ]);
    expect(t.code, t.stderr).toBe(0);
    const secret = (JSON.parse(t.stdout) as { secret: string }).secret;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        new URL("/v1/certs/bundle", url),
        {
          ca: readFileSync(join(dataDir, "ca.crt")),
          headers: { authorization: `Bearer ${secret}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
