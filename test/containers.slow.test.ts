/**
 * Containers as a user gets them (issue 12), on the real parts: `git push` of a Dockerfile app
 * whose FROM is a base image made on this machine (no hub), built by the engine's BuildKit,
 * pushed to Gantry's registry, run in containers, served through the router. Then scale,
 * config change under load, rollback to the exact digest, a killed container, an agent restart
 * (adopted, not duplicated) and destroy (containers, images and registry tags gone).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerEngine } from "../src/docker/engine.js";
import type { PsEntry } from "../src/model/app-views.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";
import {
  commitFile,
  eventually,
  get,
  localRepo,
  push,
  routerPort,
  startLoad,
  stopGantry,
  withToken,
  type Load,
  type LoadResult,
} from "./helpers/paas.js";

const APP = "boxed";
const HOST = `${APP}.localhost`;

const server = (version: string): string =>
  [
    'const http = require("node:http");',
    "http",
    "  .createServer((req, res) => {",
    `    res.end(\`\${process.env.GREETING ?? "hello"} ${version}\`);`,
    "  })",
    "  .listen(Number(process.env.PORT));",
    'process.on("SIGTERM", () => process.exit(0));',
  ].join("\n") + "\n";

let engine: Docker;
let g: GantryProcess;
let work: string;
let port: number;
let repo: string;
let remote: string;

beforeAll(async () => {
  engine = dockerEngine();
  // Untagged: the build must make `gantry/base` itself (a tag only: the image stays for others).
  await engine
    .getImage("gantry/base:latest")
    .remove({ noprune: true })
    .catch(() => undefined);
  work = mkdtempSync(join(tmpdir(), "gantry-containers-"));
  // Fixed ports for the router and the registry, so a restart keeps them.
  g = await startGantry({
    args: [
      "--registry-addr",
      `127.0.0.1:${await freePort()}`,
      "--http-addr",
      `127.0.0.1:${await freePort()}`,
    ],
  });
  port = await routerPort(g);
  const created = await g.cli(["apps:create", APP, "--drain", "1s", "--json"]);
  expect(created.code, created.stderr).toBe(0);
  remote = withToken((JSON.parse(created.stdout) as { gitUrl: string }).gitUrl, g.token);
  repo = await localRepo(work, {
    Dockerfile: [
      // Gantry's base image, which the build makes first when this engine lacks it.
      "FROM gantry/base",
      "COPY server.js /app/server.js",
      'CMD ["node", "/app/server.js"]',
      "",
    ].join("\n"),
    "server.js": server("v1"),
  });
}, 120_000);

afterAll(async () => {
  await stopGantry(g);
  rmSync(work, { recursive: true, force: true });
});

/** The app's containers (running or not), through the engine. */
async function containers(all = false): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all, filters: { label: [`gantry.app=${APP}`] } });
}

async function ps(): Promise<PsEntry[]> {
  const r = await g.cli(["ps", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PsEntry[];
}

function runningWeb(n: number): Promise<PsEntry[]> {
  return eventually(`${n} passing web instances`, async () => {
    const all = (await ps()).filter((p) => p.processType === "web");
    const up = all.filter(
      (p) => p.state === "running" && p.desired === "running" && p.health === "passing",
    );
    return up.length === n && all.length === n ? up : undefined;
  });
}

interface ReleaseView {
  version: number;
  status: string;
  image?: string;
}
async function releases(): Promise<ReleaseView[]> {
  const r = await g.cli(["releases", APP, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ReleaseView[];
}

async function serving(body: string): Promise<void> {
  await eventually(`the router to serve "${body}"`, async () => {
    const a = await get(port, HOST);
    return a.status === 200 && a.body === body ? true : undefined;
  });
}

async function withLoad(fn: (load: Load) => Promise<void>): Promise<LoadResult> {
  const load = startLoad(port, HOST, { concurrency: 4, maxMs: 90_000 });
  try {
    await eventually("load to flow", async () => (load.count() > 20 ? true : undefined), 5000);
    await fn(load);
    await new Promise((r) => setTimeout(r, 2000));
    return await load.stop();
  } catch (e) {
    await load.stop();
    throw e;
  }
}

describe("containers: a Dockerfile app from push to destroy", () => {
  it("builds the pushed Dockerfile, streams the build, and serves it from a container", async () => {
    const r = await push(repo, remote);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/remote: .*COPY server\.js/);
    await serving("hello v1");
    const [rel] = await releases();
    expect(rel?.image).toMatch(/\/boxed@sha256:[0-9a-f]{64}$/);
    const running = await containers();
    expect(running).toHaveLength(1);
    // Secure defaults, as the engine reports them.
    const info = await engine.getContainer(running[0]!.Id).inspect();
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.CapDrop).toContain("ALL");
    expect(info.Config.User).not.toBe("");
    expect(info.HostConfig.RestartPolicy?.Name ?? "no").toMatch(/^(no|)$/);
    // The image says what it is: its app, build and release.
    const labels = (await engine.getImage(info.Image).inspect()).Config.Labels ?? {};
    expect(labels["gantry.app"]).toBe(APP);
    expect(labels["gantry.release"]).toBe(String(rel!.version));
    expect(labels["gantry.build"]).toMatch(/^\d{8}-/);
  }, 120_000);

  it("scales it, and changes its config with no failed request under load", async () => {
    const scaled = await g.cli(["ps:scale", APP, "web=2"]);
    expect(scaled.code, scaled.stderr).toBe(0);
    await runningWeb(2);
    expect(await containers()).toHaveLength(2);
    const r = await withLoad(async () => {
      const set = await g.cli(["config:set", APP, "GREETING=hi"]);
      expect(set.code, set.stderr).toBe(0);
      await serving("hi v1");
    });
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(r.bodies.has("hi v1")).toBe(true);
    await eventually("the old containers to go", async () =>
      (await containers()).length === 2 ? true : undefined,
    );
  }, 120_000);

  it("rolls back to the exact digest it ran", async () => {
    const before = await releases();
    const v1 = before[0]!;
    await commitFile(repo, "server.js", server("v2"));
    const r = await push(repo, remote);
    expect(r.code, r.stderr).toBe(0);
    await serving("hi v2");
    const v2 = (await releases())[0]!;
    expect(v2.image).not.toBe(v1.image);
    // v1's image leaves the node once its containers are gone: the rollback must pull it back
    // from Gantry's registry, as the node (its agent's node token).
    await eventually("only v2's containers", async () => {
      const left = await containers(true);
      return left.length === 2 &&
        left.every((c) => c.Labels["gantry.release"] === String(v2.version))
        ? true
        : undefined;
    });
    await engine.getImage(v1.image!).remove({ force: true });
    await expect(engine.getImage(v1.image!).inspect()).rejects.toThrow();
    const back = await g.cli(["releases:rollback", APP, `v${v1.version}`]);
    expect(back.code, back.stderr).toBe(0);
    await serving("hi v1");
    const now = (await releases())[0]!;
    expect(now.version).toBeGreaterThan(v2.version);
    expect(now.image).toBe(v1.image);
    expect((await engine.getImage(v1.image!).inspect()).RepoDigests).toContain(v1.image);
    await runningWeb(2);
  }, 180_000);

  it("restarts a killed container, and traffic avoids it meanwhile", async () => {
    const [victim] = await runningWeb(2);
    const r = await withLoad(async () => {
      const [target] = (await containers()).filter(
        (c) => c.Labels["gantry.instance"] === victim!.id,
      );
      expect(target).toBeDefined();
      await engine.getContainer(target!.Id).kill({ signal: "SIGKILL" });
      await eventually("the instance to be restarted", async () => {
        const p = (await ps()).find((x) => x.id === victim!.id);
        return p !== undefined && p.restarts >= 1 && p.state === "running" && p.health === "passing"
          ? p
          : undefined;
      });
    });
    expect(r.failed, r.failures.join("\n")).toBe(0);
    expect(await containers()).toHaveLength(2);
  }, 120_000);

  it("adopts its containers after a restart of the agent: none duplicated", async () => {
    const before = (await containers()).map((c) => c.Id).sort();
    expect(before).toHaveLength(2);
    // A crash of the whole `gantry up` (its agent included): a clean stop would stop the
    // platform's instances with it, as for processes.
    await g.kill();
    // The containers outlive the agent (they are not its children).
    expect((await containers()).map((c) => c.Id).sort()).toEqual(before);
    await g.start();
    await runningWeb(2);
    await serving("hi v1");
    expect((await containers(true)).map((c) => c.Id).sort()).toEqual(before);
  }, 120_000);

  it("destroys it: containers, images and registry tags gone", async () => {
    const images = await g.cli(["images", APP, "--json"]);
    expect(images.code, images.stderr).toBe(0);
    expect((JSON.parse(images.stdout) as unknown[]).length).toBeGreaterThan(0);
    const d = await g.cli(["apps:destroy", APP, "--confirm", APP]);
    expect(d.code, d.stderr).toBe(0);
    await eventually("the containers to go", async () =>
      (await containers(true)).length === 0 ? true : undefined,
    );
    const left = await engine.listImages({ filters: { label: [`gantry.app=${APP}`] } });
    expect(left).toEqual([]);
    const after = await g.cli(["images", APP, "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual([]);
  }, 120_000);
});
