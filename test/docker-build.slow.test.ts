/**
 * Dockerfile builds and image deploys as a user gets them (issue 12), on the real parts:
 * `gantry up` with its registry, `git push` of a Dockerfile app whose FROM is the base image
 * made on this machine, the build log streamed to the pusher step by step, the image in the
 * registry pinned by digest on the build and the release, served through the router; a failing
 * step rejects the push naming it; `gantry deploy --image` of an image pushed to the registry by
 * someone else, and of a digest that does not match (refused, no release).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enginePush } from "../src/build/docker-engine-calls.js";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { dockerEngine } from "../src/docker/engine.js";
import { AppsClient } from "../src/client/apps.js";
import { GantryClient } from "../src/client/client.js";
import type { Build, Release } from "../src/model/app.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";
import {
  commitFile,
  eventually,
  get,
  localRepo,
  push,
  routerPort,
  stopGantry,
  withToken,
} from "./helpers/paas.js";

const APP = "dfapp";
const nonce = randomBytes(4).toString("hex");
const HOST = `${APP}.localhost`;

const server = (text: string): string =>
  `require("node:http").createServer((q, s) => s.end(${JSON.stringify(text)})).listen(Number(process.env.PORT));\n` +
  'process.on("SIGTERM", () => process.exit(0));\n';

let engine: Docker;
let g: GantryProcess;
let work: string;
let base: string;
let registry: string;
let port: number;
let repo: string;
let remote: string;

beforeAll(async () => {
  engine = dockerEngine();
  base = await ensureBaseImage(engine);
  work = mkdtempSync(join(tmpdir(), "gantry-docker-build-"));
  registry = `127.0.0.1:${await freePort()}`;
  g = await startGantry({ args: ["--registry-addr", registry] });
  port = await routerPort(g);
  const created = await g.cli(["apps:create", APP, "--drain", "1s", "--json"]);
  expect(created.code, created.stderr).toBe(0);
  remote = withToken((JSON.parse(created.stdout) as { gitUrl: string }).gitUrl, g.token);
}, 120_000);
afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

const json = async <T>(args: string[]): Promise<T> => {
  const r = await g.cli([...args, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe("a Dockerfile app", () => {
  let build: Build | undefined;

  it("is built with the steps streamed to the pusher, pushed, pinned and served", async () => {
    repo = await localRepo(work, {
      Dockerfile: `FROM ${base}\nWORKDIR /srv\nCOPY server.js .\nRUN echo built by buildkit ${nonce}\nCMD ["node", "server.js"]\n`,
      "server.js": server("from a dockerfile v1"),
    });
    const r = await push(repo, remote);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stderr;
    expect(out).toContain("remote: -----> Dockerfile detected: building an image (BuildKit)");
    expect(out).toMatch(/remote: #\d+ \[3\/4\] COPY server\.js \./);
    // A step that ran (a nonce keeps the engine's cache from answering for it) shows its output.
    expect(out).toMatch(new RegExp(`remote: #\\d+ built by buildkit ${nonce}`));
    expect(out).toMatch(/remote: #\d+ DONE \d+\.\ds/);
    expect(out).toContain(`remote: -----> Pushing ${registry}/${APP}:`);
    expect(out).toMatch(/remote: -----> dfapp v1 deployed/);

    [build] = await new AppsClient(new GantryClient({ addr: g.url, token: g.token })).builds(APP);
    expect(build!).toMatchObject({ kind: "dockerfile", status: "succeeded" });
    expect(build!.image).toMatch(new RegExp(`^${registry}/${APP}@sha256:[0-9a-f]{64}$`));
    const [rel] = await json<Release[]>(["releases", APP]);
    expect(rel).toMatchObject({ version: 1, image: build!.image, runtime: "docker" });
    const images = await json<{ repository: string; digest: string }[]>(["images", APP]);
    expect(images.some((i) => build!.image === `${registry}/${i.repository}@${i.digest}`)).toBe(
      true,
    );
    const answer = await eventually("the app through the router", async () => {
      const a = await get(port, HOST);
      return a.status === 200 ? a : undefined;
    });
    expect(answer.body).toBe("from a dockerfile v1");
  }, 180_000);

  it("a failing step rejects the push, naming the step; nothing is released", async () => {
    await commitFile(repo, "Dockerfile", `FROM ${base}\nRUN echo about to fail && exit 4\n`);
    const r = await push(repo, remote);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/remote: #\d+ about to fail/);
    expect(r.stderr).toContain(
      "Push rejected: step [2/2] RUN echo about to fail && exit 4 failed: executor failed running",
    );
    const releases = await json<Release[]>(["releases", APP]);
    expect(releases.map((x) => x.version)).toEqual([1]);
    expect((await get(port, HOST)).body).toBe("from a dockerfile v1");
  }, 120_000);
});

describe("gantry apps:set", () => {
  it("moves the instances to new container limits with a release of the same image", async () => {
    const before = (await json<Release[]>(["releases", APP]))[0]!;
    const r = await g.cli(["apps:set", APP, "memory=256M", "pids=128"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/v\d+ is live/);
    const [rel] = await json<Release[]>(["releases", APP]);
    expect(rel).toMatchObject({
      version: before.version + 1,
      image: before.image,
      runtime: "docker",
      description: "Set memory=256M, pids=128",
    });
    const info = await g.cli(["apps:info", APP]);
    expect(info.stdout).toMatch(
      /Runtime:\s+process \(memory 256M, pids 128\); v\d+ runs as docker/,
    );
    expect(info.stdout).toContain(`Image:          ${before.image}`);
    const bad = await g.cli(["apps:set", APP, "memory=lots"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("memory must be a size like 512M or 1G (or default)");
    expect((await get(port, HOST)).body).toBe("from a dockerfile v1");
  }, 120_000);
});

describe("gantry deploy --image", () => {
  let digest: string;

  it("deploys an image pushed to the registry by someone else, pinned by digest", async () => {
    const ctx = await localRepo(work, {
      Dockerfile: `FROM ${base}\nCOPY server.js /srv/server.js\nCMD ["node", "/srv/server.js"]\n`,
      "server.js": server("from ci"),
    });
    // Outside CI: build on the engine, push with a Gantry token (the registry's token auth).
    const tar = (await import("tar")).c({ cwd: ctx, portable: true }, ["Dockerfile", "server.js"]);
    const built = await engine.buildImage(tar as unknown as NodeJS.ReadableStream, {
      t: `${registry}/${APP}:ci-1`,
    });
    await new Promise((res, rej) =>
      engine.modem.followProgress(built, (e) => (e ? rej(e) : res(undefined))),
    );
    digest = await enginePush(
      engine,
      `${registry}/${APP}`,
      "ci-1",
      { username: "ci", password: g.token, serveraddress: registry },
      () => undefined,
    );
    const r = await g.cli(["deploy", APP, "--image", `${registry}/${APP}:ci-1`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`resolved ${registry}/${APP}:ci-1 -> ${registry}/${APP}@${digest}`);
    expect(r.stdout).toMatch(/v3 is live/);
    const [rel] = await json<Release[]>(["releases", APP]);
    expect(rel).toMatchObject({ version: 3, image: `${registry}/${APP}@${digest}` });
    await eventually("the ci image serving", async () =>
      (await get(port, HOST)).body === "from ci" ? true : undefined,
    );
  }, 180_000);

  it("refuses a digest that does not match, and an image that does not exist: no release", async () => {
    const wrong = await g.cli([
      "deploy",
      APP,
      "--image",
      `${registry}/${APP}:ci-1@sha256:${"0".repeat(64)}`,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(`does not match: the image there is ${digest}`);
    const missing = await g.cli(["deploy", APP, "--image", `${registry}/${APP}:nope`]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found|in Gantry's registry/);
    const releases = await json<Release[]>(["releases", APP]);
    expect(Math.max(...releases.map((x) => x.version))).toBe(3);
  }, 60_000);

  it("a rollback returns to the Dockerfile build's exact digest", async () => {
    const [v1] = (await json<Release[]>(["releases", APP])).filter((x) => x.version === 1);
    const r = await g.cli(["releases:rollback", APP, "v1"]);
    expect(r.code, r.stderr).toBe(0);
    const [rel] = await json<Release[]>(["releases", APP]);
    expect(rel).toMatchObject({ version: 4, image: v1!.image });
    await eventually("v1's image serving again", async () =>
      (await get(port, HOST)).body === "from a dockerfile v1" ? true : undefined,
    );
  }, 120_000);
});
