/**
 * `gantry images:bake` against the real Docker engine (issue 12): bake a node image from Gantry's
 * base image and examples/bake, reuse it, rebake on a change, and fail cleanly (or keep the
 * container) when a state fails.
 * More than 30 s on this machine: a slow test.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, appendFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type Docker from "dockerode";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerEngine } from "../src/docker/engine.js";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { runCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { stopGantry } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

const EXAMPLE = resolve(import.meta.dirname, "../examples/bake");
const NAME = `bt${process.pid}`;
// No Gantry server there: a bake stays local (and says so).
const env = { GANTRY_ADDR: "http://127.0.0.1:9", GANTRY_TOKEN: "none" };
let engine: Docker;
let base: string;
let work: string;

const bakeCli = (args: string[]): ReturnType<typeof runCli> =>
  runCli(["images:bake", ...args], env, { timeoutMs: 120_000 });

function statesCopy(name: string): string {
  const dir = join(work, name);
  cpSync(EXAMPLE, dir, { recursive: true });
  return dir;
}

async function bakeContainers(name = NAME): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({
    all: true,
    filters: JSON.stringify({ label: ["gantry.bake=container", `gantry.bake.name=${name}`] }),
  });
}

async function bakedImages(name = NAME): Promise<Docker.ImageInfo[]> {
  return engine.listImages({
    filters: JSON.stringify({ label: [`gantry.bake.name=${name}`] }),
  });
}

/** Containers the engine created since `since` (seconds) with the bake label. */
async function createdSince(since: number): Promise<number> {
  const stream = (await engine.getEvents({
    since,
    until: Math.ceil(Date.now() / 1000) + 1,
    filters: { type: ["container"], event: ["create"], label: ["gantry.bake=container"] },
  })) as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += String(chunk);
  return text.split("\n").filter((l) => l.trim() !== "").length;
}

/** A file of an image, read through the engine's archive API (no container is started). */
async function readFromImage(image: string, path: string): Promise<string> {
  const c = await engine.createContainer({ Image: image, Cmd: ["/bin/true"] });
  const dir = mkdtempSync(join(tmpdir(), "bake-read-"));
  try {
    const archive = (await c.getArchive({ path })) as NodeJS.ReadableStream;
    await new Promise<void>((done, fail) => {
      archive
        .pipe(tar.x({ cwd: dir }))
        .on("finish", done)
        .on("error", fail);
    });
    return readFileSync(join(dir, path.split("/").pop()!), "utf8");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await c.remove({ force: true });
  }
}

beforeAll(async () => {
  engine = dockerEngine();
  base = await ensureBaseImage(engine);
  work = mkdtempSync(join(tmpdir(), "bake-test-"));
}, 120_000);

afterAll(async () => {
  for (const c of await bakeContainers().catch(() => []))
    await engine
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const name of [NAME, `${NAME}-fail`, `${NAME}-push`]) {
    for (const c of await bakeContainers(name).catch(() => []))
      await engine
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    for (const i of await bakedImages(name).catch(() => []))
      await engine
        .getImage(i.Id)
        .remove({ force: true })
        .catch(() => {});
  }
  await engine
    .getImage(`${NAME}-nonode:1`)
    .remove({ force: true })
    .catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe("gantry images:bake", () => {
  let first: { id: string; key: string; tag: string; reused: boolean; ref: string };
  let states: string;

  it("bakes the example role into a labelled image holding what the states wrote", async () => {
    states = statesCopy("states");
    // `--from gantry/base` when the engine has no such tag: the bake makes Gantry's base first.
    await engine
      .getImage("gantry/base:latest")
      .remove({ noprune: true })
      .catch(() => undefined);
    const r = await bakeCli([
      NAME,
      "--from",
      "gantry/base",
      "--states",
      states,
      "--role",
      "web",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    first = JSON.parse(r.stdout) as typeof first;
    expect(first.reused).toBe(false);
    expect(first.tag).toBe(`images/${NAME}:${first.key.slice(0, 12)}`);
    expect(first.ref).toBe(first.id); // no registry: the image id
    expect(r.stdout).toContain("not pushed: no Gantry server answers");

    const info = await engine.getImage(first.id).inspect();
    const baseInfo = await engine.getImage(base).inspect();
    expect(info.RepoTags).toContain(first.tag);
    expect(info.Config.Labels).toMatchObject({
      "gantry.bake": "image",
      "gantry.bake.key": first.key,
      "gantry.bake.base": baseInfo.Id,
      "gantry.bake.name": NAME,
      "gantry.bake.role": "web",
    });
    expect(info.Config.Labels?.["gantry.bake.states"]).toMatch(/^[0-9a-f]{64}$/);
    // The base image's own command and workdir, not the bake container's.
    expect(info.Config.Cmd).toEqual(baseInfo.Config.Cmd);
    expect(info.Config.WorkingDir).toBe(baseInfo.Config.WorkingDir);
    expect(info.Config.User).toBe(baseInfo.Config.User);

    expect(await readFromImage(first.id, "/srv/site/index.html")).toBe("<h1>hello</h1>\n");
    expect(await readFromImage(first.id, "/etc/web/web.conf")).toContain("listen = 8080");
    expect(await readFromImage(first.id, "/etc/passwd")).toMatch(/^web:x:8080:8080:/m);
    expect(await readFromImage(first.id, "/etc/web/baked")).toBe("baked with port 8080\n");
    expect(await bakeContainers()).toEqual([]);
  }, 120_000);

  it("reuses the image when nothing changed: no container, well under a second", async () => {
    const since = Math.floor(Date.now() / 1000);
    const started = performance.now();
    const r = await bakeCli([NAME, "--from", base, "--states", states, "--role", "web", "--json"]);
    const wallMs = performance.now() - started;
    expect(r.code, r.stderr).toBe(0);
    const again = JSON.parse(r.stdout) as typeof first & { durationMs: number };
    expect(again.reused).toBe(true);
    expect(again.id).toBe(first.id);
    expect(await createdSince(since)).toBe(0);
    // The bake's own work; the whole command (node's start included) is in docs/containers.md.
    expect(again.durationMs).toBeLessThan(1000);
    console.log(`no-op bake: ${again.durationMs} ms in the command, ${Math.round(wallMs)} ms wall`);
    // The order of -e does not matter; the human output ends with the image.
    const args = [NAME, "--from", base, "--states", states, "--role", "web", "--no-push"];
    const withVars = await bakeCli([...args, "-e", "port=8081", "-e", "greeting=hey"]);
    expect(withVars.code, withVars.stderr).toBe(0);
    expect(withVars.stderr).toContain("baked images/");
    const reordered = await bakeCli([...args, "-e", "greeting=hey", "-e", "port=8081"]);
    expect(reordered.code, reordered.stderr).toBe(0);
    expect(reordered.stderr).toContain("reused images/");
    expect(reordered.stdout.trim().split("\n").pop()).toBe(
      withVars.stdout.trim().split("\n").pop(),
    );
    expect(
      await readFromImage(reordered.stdout.trim().split("\n").pop()!, "/srv/site/index.html"),
    ).toBe("<h1>hey</h1>\n");
  }, 60_000);

  it("bakes a new image when a state file changes", async () => {
    writeFileSync(join(states, "templates/web.conf.j2"), "listen = {{ port }}\nworkers = 2\n");
    const r = await bakeCli([NAME, "--from", base, "--states", states, "--role", "web", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const changed = JSON.parse(r.stdout) as typeof first;
    expect(changed.reused).toBe(false);
    expect(changed.key).not.toBe(first.key);
    expect(changed.id).not.toBe(first.id);
    expect(await readFromImage(changed.id, "/etc/web/web.conf")).toContain("workers = 2");
    // The earlier image stays (nodes may still boot from it).
    expect((await bakedImages()).map((i) => i.Id)).toEqual(
      expect.arrayContaining([first.id, changed.id]),
    );
  }, 120_000);

  it("fails on a failing state: the resource is named, no image, no container", async () => {
    const broken = statesCopy("broken");
    appendFileSync(
      join(broken, "web.yaml"),
      '  - exec: fail-on-purpose\n    shell: "echo broken >&2; exit 3"\n',
    );
    const name = `${NAME}-fail`;
    const args = [name, "--from", base, "--states", broken, "--role", "web", "--no-push"];
    const r = await bakeCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("exec:fail-on-purpose");
    expect(r.stderr).toContain("exit code 3");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await bakedImages(name)).toEqual([]);
    expect(await bakeContainers(name)).toEqual([]);

    // keep: the failed container stays, named for the bake, and the output says how to look.
    const kept = await bakeCli([...args, "--on-error", "keep"]);
    expect(kept.code).toBe(2);
    const left = await bakeContainers(name);
    expect(left).toHaveLength(1);
    expect(left[0]!.Names[0]).toMatch(new RegExp(`^/gantry-bake-${name}-[0-9a-f]{12}$`));
    expect(left[0]!.State).toBe("exited");
    expect(kept.stderr).toContain(`docker logs ${left[0]!.Names[0]!.slice(1)}`);
    expect(await bakedImages(name)).toEqual([]);

    // The next bake of the same inputs replaces the kept container (and aborts cleanly).
    const again = await bakeCli(args);
    expect(again.code).toBe(2);
    expect(await bakeContainers(name)).toEqual([]);
  }, 120_000);

  it("refuses clearly: no such image, no node in it, unknown role, no states, low disk", async () => {
    const states = statesCopy("refusals");
    const cli = (...a: string[]): ReturnType<typeof runCli> =>
      bakeCli([NAME, "--states", states, "--role", "web", "--no-push", ...a]);

    const missing = await cli("--from", "gantry/none:1");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('image "gantry/none:1" is not on this Docker engine');

    // The base image without node.
    const c = await engine.createContainer({
      Image: base,
      Cmd: ["/bin/sh", "-c", 'rm -f "$(command -v node)"'],
    });
    await c.start();
    await c.wait();
    await c.commit({ repo: `${NAME}-nonode`, tag: "1" });
    await c.remove({ force: true });
    const nonode = await cli("--from", `${NAME}-nonode:1`);
    expect(nonode.code).toBe(1);
    expect(nonode.stderr).toContain("the image has no node on its PATH");
    expect(nonode.stderr).toContain("node >= 20");

    const role = await cli("--from", base, "--role", "dbx");
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('role "dbx" is not in top.yaml');

    const dir = await bakeCli([
      NAME,
      "--from",
      base,
      "--states",
      join(work, "nope"),
      "--role",
      "web",
    ]);
    expect(dir.code).toBe(1);
    expect(dir.stderr).toContain("does not exist (--states)");

    // A new identity (a var), else the image of the first test would be reused, floor or not.
    const disk = await cli("--from", base, "-e", "x=disk", "--min-free", "100000TB");
    expect(disk.code).toBe(1);
    expect(disk.stderr).toMatch(/free on .* \(Docker's data root\), below the .* floor/);

    const noEngine = await runCli(
      ["images:bake", NAME, "--from", base, "--states", states, "--role", "web"],
      { ...env, DOCKER_HOST: `unix://${join(work, "no.sock")}` },
    );
    expect(noEngine.code).toBe(1);
    expect(noEngine.stderr).toContain("no Docker engine answers at");

    expect(await bakeContainers()).toEqual([]);
  }, 120_000);
});

describe("gantry images:bake with Gantry's registry", () => {
  let g: GantryProcess | undefined;
  afterAll(() => stopGantry(g), 30_000);

  it("pushes the image to <registry>/images/NAME and prints it pinned by digest; a reuse does not push again", async () => {
    const address = `127.0.0.1:${await freePort()}`;
    g = await startGantry({ args: ["--registry-addr", address] });
    const name = `${NAME}-push`;
    const args = ["images:bake", name, "--from", base, "--states", EXAMPLE, "--role", "web"];
    const r = await g.cli([...args, "-e", "greeting=pushed"], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const ref = r.stdout.trim().split("\n").pop()!;
    expect(ref).toMatch(new RegExp(`^${address}/images/${name}@sha256:[0-9a-f]{64}$`));
    const info = await engine.getImage(ref).inspect();
    expect(info.Config.Labels?.["gantry.bake.name"]).toBe(name);

    // Human output this time: it would say "pushing" if it pushed again.
    const again = await g.cli([...args, "-e", "greeting=pushed"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("reused");
    expect(again.stderr).not.toContain("pushing");
    expect(again.stdout.trim().split("\n").pop()).toBe(ref);
  }, 180_000);
});
