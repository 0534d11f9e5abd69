/**
 * Gantry's registry with the real parts (issue 12): Debian's docker-registry supervised by a
 * real server, Debian's docker CLI playing a user (`docker login`/`push`/`pull` by full path,
 * HOME in a temporary directory), images made from scratch by `docker import` (no hub).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { releaseKey } from "../src/model/app.js";
import type { ImageView } from "../src/model/image-view.js";
import { startServer, type RunningServer } from "../src/server/server.js";
import { runCli, startGantry } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";

const run = promisify(execFile);
const DOCKER = "/usr/bin/docker";
const home = mkdtempSync(join(tmpdir(), "gantry-docker-home-"));
const dataDir = mkdtempSync(join(tmpdir(), "gantry-registry-"));
const suffix = `${process.pid}-${Date.now()}`;
let server: RunningServer;
let registry: string;
const localImages: string[] = [];

/** The Debian docker CLI as a user with its own HOME (credentials stay in the temp dir). */
function docker(args: string[], input?: string): Promise<{ code: number; out: string }> {
  const env = { ...process.env, HOME: home, DOCKER_CONFIG: join(home, ".docker") };
  return new Promise((resolve) => {
    const child = execFile(DOCKER, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({
        code: err === null ? 0 : typeof err.code === "number" ? err.code : 1,
        out: stdout + stderr,
      }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function api<T>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function tokenWith(name: string, policies: unknown[]): Promise<string> {
  const res = await api<{ secret: string }>("POST", "/v1/tokens", { name, policies });
  expect(res.status).toBe(201);
  return res.body.secret;
}

/** A one-file image made from scratch, labelled as Gantry's when `app` is given. */
async function makeImage(name: string, app?: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-img-"));
  writeFileSync(join(dir, "hello.txt"), `${name} ${suffix} ${Math.random()}\n`);
  await run("tar", ["-C", dir, "-cf", join(dir, "root.tar"), "hello.txt"]);
  const ref = `${registry}/web:${name}`;
  const change = app === undefined ? [] : ["--change", `LABEL gantry.app=${app}`];
  const got = await docker(["import", ...change, join(dir, "root.tar"), ref]);
  rmSync(dir, { recursive: true, force: true });
  expect(got.code, got.out).toBe(0);
  localImages.push(ref);
  return ref;
}

function login(user: string, password: string): Promise<{ code: number; out: string }> {
  return docker(["login", "-u", user, "--password-stdin", registry], password);
}

/** Push and answer the digest the registry gave. */
async function push(ref: string): Promise<string> {
  const got = await docker(["push", ref]);
  expect(got.code, got.out).toBe(0);
  return /digest: (sha256:[0-9a-f]{64})/.exec(got.out)![1]!;
}

async function waitRunning(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await api<{ running: boolean }>("GET", "/v1/registry");
    if (info.body.running) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the registry did not come up");
}

async function until(ok: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("timed out");
}

async function registryToken(scope: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/registry/token?scope=${scope}`, {
    headers: { authorization: `Bearer ${server.adminToken}` },
  });
  return ((await res.json()) as { token: string }).token;
}

/** A release of web running `digest`, as a build or `deploy --image` records it. */
async function putRelease(v: number, digest: string): Promise<void> {
  await server.store.put(
    releaseKey("web", v),
    JSON.stringify({
      app: "web",
      version: v,
      image: `${registry}/web@${digest}`,
      runtime: "docker",
      processTypes: {},
      configVersion: 0,
      config: {},
      description: `v${v}`,
      createdAt: new Date().toISOString(),
      createdBy: "test",
      status: "superseded",
    }),
  );
}

beforeAll(async () => {
  const port = await freePort();
  server = await startServer({
    dataDir,
    apiHost: "127.0.0.1",
    apiPort: await freePort(),
    registry: { host: "127.0.0.1", port, explicit: true },
    imageRetention: 1,
    log: () => undefined,
  });
  registry = `127.0.0.1:${port}`;
  await waitRunning();
}, 60_000);

afterAll(async () => {
  if (localImages.length > 0) await docker(["rmi", "-f", ...localImages]);
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe("Gantry's registry", () => {
  const pushed: string[] = [];
  let writer = "";

  it("answers where it is, to a token holder only", async () => {
    const info = await api<{ address: string; running: boolean }>("GET", "/v1/registry");
    expect(info.body).toEqual({ address: registry, running: true });
    expect((await fetch(`${server.url}/v1/registry`)).status).toBe(401);
  });

  it("takes docker login with a Gantry token, refuses a bad password", async () => {
    const bad = await login("someone", "gty_not-a-token");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/unauthorized|401/i);
    const reader = await tokenWith("web-reader", [
      { resource: "app", prefix: "web", access: "read" },
    ]);
    const ok = await login("whoever", reader);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/Login Succeeded/);
  }, 60_000);

  it("refuses a push with a read-only token (the registry itself answers)", async () => {
    const ref = await makeImage("refused", "web");
    const got = await docker(["push", ref]);
    expect(got.code).not.toBe(0);
    expect(got.out).toMatch(/denied|unauthorized|authentication required/i);
  }, 60_000);

  it("pushes with an apps-write token", async () => {
    writer = await tokenWith("web-ci", [{ resource: "app", prefix: "web", access: "write" }]);
    expect((await login("ci", writer)).code).toBe(0);
    for (const name of ["b1", "b2", "b3"]) pushed.push(await push(await makeImage(name, "web")));
    // One from outside Gantry: no gantry.app label.
    pushed.push(await push(await makeImage("outside")));
    expect(new Set(pushed).size).toBe(4);
  }, 120_000);

  it("lets a node token pull, not push", async () => {
    const node = await tokenWith("agent-n1", [{ resource: "node", prefix: "n1", access: "write" }]);
    expect((await login("n1", node)).code).toBe(0);
    const ref = `${registry}/web@${pushed[0]}`;
    const got = await docker(["pull", ref]);
    expect(got.code, got.out).toBe(0);
    localImages.push(ref);
    const denied = await docker(["push", `${registry}/web:b1`]);
    expect(denied.code).not.toBe(0);
  }, 60_000);

  it("gives a token without rights empty access; bad or no credentials get 401", async () => {
    const kv = await tokenWith("kv-only", [{ resource: "kv", prefix: "", access: "write" }]);
    const basic = (p: string): string => `Basic ${Buffer.from(`x:${p}`).toString("base64")}`;
    const q = `service=gantry-registry&scope=repository:web:pull,push`;
    const res = await fetch(`${server.url}/v1/registry/token?${q}`, {
      headers: { authorization: basic(kv) },
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
      access: unknown;
    };
    expect(claims.access).toEqual([{ type: "repository", name: "web", actions: [] }]);
    const bad = await fetch(`${server.url}/v1/registry/token?${q}`, {
      headers: { authorization: basic("wrong") },
    });
    expect(bad.status).toBe(401);
    expect((await fetch(`${server.url}/v1/registry/token?${q}`)).status).toBe(401);
  });

  it("lists the images with sizes and the releases using them (gantry images --json)", async () => {
    const created = await api("POST", "/v1/apps", { name: "web" });
    expect(created.status).toBe(201);
    // Releases v1..v3 run b1..b3, as Dockerfile builds record them.
    for (let v = 1; v <= 3; v++) await putRelease(v, pushed[v - 1]!);
    const env = { GANTRY_ADDR: server.url, GANTRY_TOKEN: server.adminToken };
    const res = await runCli(["images", "web", "--json"], env);
    expect(res.code, res.stderr).toBe(0);
    const list = JSON.parse(res.stdout) as ImageView[];
    expect(list.map((i) => i.digest).sort()).toEqual([...pushed].sort());
    const b2 = list.find((i) => i.digest === pushed[1])!;
    expect(b2).toMatchObject({ repository: "web", tags: ["b2"], gantry: true, releases: [2] });
    expect(list.find((i) => i.digest === pushed[3])).toMatchObject({
      gantry: false,
      releases: [],
    });
    // The size is the layer's as stored: a one-file tar compresses to a few hundred bytes.
    expect(b2.size).toBeGreaterThan(50);
    expect(b2.size).toBeLessThan(5000);
    const table = await runCli(["images"], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/web\s+b2\s+[0-9a-f]{12}\s+\d+ B\s+v2/);
  }, 60_000);

  it("holds GC back while a push holds the lock or an upload is fresh", async () => {
    const reg = server.registry!;
    let release!: () => void;
    const pushing = reg.withPush(() => new Promise<void>((r) => (release = r)));
    let gcDone = false;
    const gc = reg.collectGarbage().then((r) => ((gcDone = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(gcDone).toBe(false);
    release();
    await pushing;
    expect((await gc).ran).toBe(true);
    await waitRunning();
    const upload = join(dataDir, "registry/data/docker/registry/v2/repositories/web/_uploads/x");
    mkdirSync(upload, { recursive: true });
    writeFileSync(join(upload, "startedat"), new Date().toISOString());
    expect(await reg.collectGarbage()).toMatchObject({ ran: false, reason: "a push is in flight" });
    // An upload abandoned long ago does not hold GC back.
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(upload, "startedat"), old, old);
    expect((await reg.collectGarbage()).ran).toBe(true);
    rmSync(upload, { recursive: true, force: true });
  }, 60_000);

  it("retention deletes only Gantry's images of old releases; GC runs read-only; it serves after", async () => {
    // The registry answers a delete with 405 while read-only: watch for that during the prune.
    const del = await registryToken("repository:web:delete");
    let readOnlySeen = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const res = await fetch(`http://${registry}/v2/web/manifests/sha256:${"0".repeat(64)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${del}` },
        }).catch(() => undefined);
        if (res?.status === 405) readOnlySeen = true;
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const pruned = await api<{
      deleted: { app: string; digests: string[] }[];
      gc: { ran: boolean };
    }>("POST", "/v1/registry/prune");
    watching = false;
    await watcher;
    expect(pruned.status).toBe(200);
    // Keep 1: v3's b3 stays; b1 and b2 go; the image from outside Gantry stays.
    expect(pruned.body.deleted).toHaveLength(1);
    expect(pruned.body.deleted[0]!.digests.sort()).toEqual([pushed[0], pushed[1]].sort());
    expect(pruned.body.gc.ran).toBe(true);
    expect(readOnlySeen).toBe(true);
    await waitRunning();
    const left = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(left.body.map((i) => i.digest).sort()).toEqual([pushed[2], pushed[3]].sort());
    // It serves again: what is left pulls, what went does not.
    await docker(["rmi", "-f", `${registry}/web:b3`]);
    expect((await docker(["pull", `${registry}/web:b3`])).code).toBe(0);
    const pull = await registryToken("repository:web:pull");
    for (const [digest, status] of [
      [pushed[0], 404],
      [pushed[2], 200],
    ] as const) {
      const res = await fetch(`http://${registry}/v2/web/manifests/${digest}`, {
        headers: {
          authorization: `Bearer ${pull}`,
          accept: "application/vnd.docker.distribution.manifest.v2+json",
        },
      });
      await res.body?.cancel();
      expect(res.status).toBe(status);
    }
  }, 120_000);

  it("keeps release images whose tag moved (tagged gantry-vN before GC), but not old ones of Gantry's", async () => {
    expect((await login("ci", writer)).code).toBe(0);
    // v4 ran what web:latest was (Gantry's), v5 what web:ext was (from outside); both tags
    // then moved on, leaving those manifests untagged. v6 is the newest.
    const v4 = await push(await makeImage("latest", "web"));
    await push(await makeImage("latest"));
    const v5 = await push(await makeImage("ext"));
    await push(await makeImage("ext"));
    const v6 = await push(await makeImage("b6", "web"));
    for (const [v, d] of [
      [4, v4],
      [5, v5],
      [6, v6],
    ] as const)
      await putRelease(v, d);
    const pruned = await api<{ deleted: { digests: string[] }[]; gc: { ran: boolean } }>(
      "POST",
      "/v1/registry/prune?gc=always",
    );
    expect(pruned.body.gc.ran).toBe(true);
    // Keep 1 → v6 stays; v3's b3 goes by retention and v4's untagged image (Gantry's) by GC;
    // v5's image from outside stays, now tagged gantry-v5.
    expect(pruned.body.deleted.flatMap((d) => d.digests)).toEqual([pushed[2]]);
    await waitRunning();
    const left = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(left.body.find((i) => i.digest === v5)).toMatchObject({
      tags: ["gantry-v5"],
      releases: [5],
    });
    expect(left.body.find((i) => i.digest === v6)).toMatchObject({ releases: [6] });
    const pull = await registryToken("repository:web:pull");
    const status = async (digest: string): Promise<number> => {
      const res = await fetch(`http://${registry}/v2/web/manifests/${digest}`, {
        headers: {
          authorization: `Bearer ${pull}`,
          accept: "application/vnd.docker.distribution.manifest.v2+json",
        },
      });
      await res.body?.cancel();
      return res.status;
    };
    expect(await status(v4)).toBe(404);
    expect(await status(v5)).toBe(200);
  }, 90_000);

  it("apps:destroy's deleteAppImages takes every image of the app", async () => {
    const before = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(before.body.length).toBeGreaterThan(3);
    const gone = await server.registry!.deleteAppImages("web");
    expect(gone.sort()).toEqual(before.body.map((i) => i.digest).sort());
    expect((await api<ImageView[]>("GET", "/v1/images?app=web")).body).toEqual([]);
  });

  it("a taken port: the chosen one is an error naming the flag, the default gives way", async () => {
    const taken = Number(registry.split(":")[1]);
    const dir = mkdtempSync(join(tmpdir(), "gantry-registry-port-"));
    const opts = { dataDir: dir, apiHost: "127.0.0.1", log: (l: string) => lines.push(l) };
    const lines: string[] = [];
    await expect(
      startServer({
        ...opts,
        apiPort: await freePort(),
        registry: { host: "127.0.0.1", port: taken, explicit: true },
      }),
    ).rejects.toThrow(/already in use.*--registry-addr/);
    const other = await startServer({
      ...opts,
      apiPort: await freePort(),
      registry: { host: "127.0.0.1", port: taken, explicit: false },
    });
    try {
      expect(other.registry!.address).not.toBe(registry);
      expect(lines.join("\n")).toContain(`registry: ${registry} is taken; using port`);
    } finally {
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("gantry up runs it: the banner and GET /v1/registry name it; --no-registry turns it off", async () => {
    const port = await freePort();
    const up = await startGantry({ args: ["--registry-addr", `127.0.0.1:${port}`] });
    try {
      await until(() => /registry 127\.0\.0\.1:\d+/.test(up.output()));
      expect(up.output()).toContain(`registry 127.0.0.1:${port}`);
      const info = await fetch(`${up.url}/v1/registry`, {
        headers: { authorization: `Bearer ${up.token}` },
      });
      expect(((await info.json()) as { address: string }).address).toBe(`127.0.0.1:${port}`);
    } finally {
      await up.cleanup();
    }
    const off = await startGantry({ args: ["--no-registry"] });
    try {
      await until(() => off.output().includes("Ctrl-C to stop"));
      expect(off.output()).not.toMatch(/registry/);
      const info = await fetch(`${off.url}/v1/registry`, {
        headers: { authorization: `Bearer ${off.token}` },
      });
      expect(await info.json()).toEqual({ address: null, running: false });
    } finally {
      await off.cleanup();
    }
  }, 60_000);

  it("restarts the registry when it dies", async () => {
    const reg = server.registry!;
    const pid = reg.pid!;
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 200 && (reg.pid === pid || !reg.running); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(reg.pid).not.toBe(pid);
    await waitRunning();
  }, 30_000);
});
