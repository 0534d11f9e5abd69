/**
 * The world of the registry scenario tests (issue 12): a real server supervising Debian's
 * docker-registry, Debian's docker CLI playing a user (HOME in a temporary directory), images
 * made from scratch by `docker import` (no hub). Each test file that calls registryWorld() gets
 * its own server, registry port, data directory and docker HOME.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect } from "vitest";
import { releaseKey } from "../../src/model/app.js";
import { startServer, type RunningServer } from "../../src/server/server.js";
import { freePort } from "./ports.js";

const run = promisify(execFile);
const DOCKER = "/usr/bin/docker";

export interface RegistryWorldOptions {
  /** Releases whose images retention keeps per app (the server's imageRetention). */
  imageRetention?: number;
}

export interface DockerResult {
  code: number;
  out: string;
}

export interface RegistryWorld {
  /** The running server; set once the file's beforeAll has run. */
  readonly server: RunningServer;
  /** The registry's host:port. */
  readonly registry: string;
  readonly dataDir: string;
  /** Image refs on the local docker daemon, removed after the file's tests. */
  readonly localImages: string[];
  docker(args: string[], input?: string): Promise<DockerResult>;
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  tokenWith(name: string, policies: unknown[]): Promise<string>;
  makeImage(name: string, app?: string): Promise<string>;
  login(user: string, password: string): Promise<DockerResult>;
  push(ref: string): Promise<string>;
  waitRunning(): Promise<void>;
  until(ok: () => boolean, ms?: number): Promise<void>;
  registryToken(scope: string): Promise<string>;
  putRelease(v: number, digest: string): Promise<void>;
}

/** Starts a server with a registry before the calling file's tests and stops it after them. */
export function registryWorld(opts: RegistryWorldOptions = {}): RegistryWorld {
  const home = mkdtempSync(join(tmpdir(), "gantry-docker-home-"));
  const dataDir = mkdtempSync(join(tmpdir(), "gantry-registry-"));
  const suffix = `${process.pid}-${Date.now()}`;
  let server: RunningServer;
  let registry: string;
  const localImages: string[] = [];

  /** The Debian docker CLI as a user with its own HOME (credentials stay in the temp dir). */
  function docker(args: string[], input?: string): Promise<DockerResult> {
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

  function login(user: string, password: string): Promise<DockerResult> {
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
      imageRetention: opts.imageRetention ?? 1,
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

  return {
    get server() {
      return server;
    },
    get registry() {
      return registry;
    },
    dataDir,
    localImages,
    docker,
    api,
    tokenWith,
    makeImage,
    login,
    push,
    waitRunning,
    until,
    registryToken,
    putRelease,
  };
}
