/**
 * Dockerfile builds against the real engine (issue 12): runBuild with a source that has a
 * Dockerfile builds it with BuildKit, pushes it to a registry (a bare docker-registry here; the
 * scenario test uses Gantry's own) and pins it by digest. Needs dockerd (scripts/start-dockerd.sh).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBuild, type RunBuildOptions } from "../src/build/builder.js";
import { listTree } from "../src/build/tarball.js";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { dockerEngine } from "../src/docker/engine.js";
import { BuildSchema } from "../src/model/app.js";
import type { Store } from "../src/store/index.js";
import { openSqliteStore } from "../src/store/sqlite/index.js";
import { startBareRegistry, type BareRegistry } from "./helpers/bare-registry.js";

const engine = dockerEngine();
let dir: string;
let store: Store;
let registry: BareRegistry;
let base: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-docker-build-"));
  store = await openSqliteStore({ dir: join(dir, "store"), durability: "process" });
  registry = await startBareRegistry();
  base = await ensureBaseImage(engine);
}, 120_000);
afterAll(async () => {
  await store?.close();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function source(files: Record<string, string>): AsyncIterable<Buffer> {
  const src = mkdtempSync(join(dir, "src-"));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(src, name, ".."), { recursive: true });
    writeFileSync(join(src, name), body);
  }
  return tar.c({ cwd: src, portable: true }, listTree(src)) as unknown as AsyncIterable<Buffer>;
}

async function build(files: Record<string, string>, over: Partial<RunBuildOptions> = {}) {
  const lines: string[] = [];
  const b = await runBuild({
    dataDir: join(dir, "data"),
    store,
    app: "dapp",
    commit: "upload",
    source: source(files),
    createdBy: "test",
    onLine: (l) => lines.push(l),
    docker: async () => ({
      engine,
      registry: { address: registry.address, auth: () => undefined },
      buildArgs: { args: { GREETING: "hi there" }, missing: ["NOT_SET"] },
    }),
    ...over,
  });
  return { b, lines };
}

describe("Dockerfile builds", () => {
  it("builds with BuildKit, streams the steps, pushes, and pins the image by digest", async () => {
    const { b, lines } = await build({
      Dockerfile: `FROM ${base}\nARG GREETING\nCOPY . /app\nRUN echo "greeting=$GREETING" && cat /app/msg.txt\nCMD ["node","-e","1"]\n`,
      "msg.txt": `made at ${Date.now()}\n`,
    });
    expect(b.status, lines.join("\n")).toBe("succeeded");
    expect(BuildSchema.parse(b)).toMatchObject({ kind: "dockerfile", processTypes: { web: "" } });
    expect(b.artifact).toBeUndefined();
    expect(b.image).toMatch(new RegExp(`^${registry.address}/dapp@sha256:[0-9a-f]{64}$`));
    const text = lines.join("\n");
    // BuildKit names the step with the build arg expanded, as `docker build` shows it.
    expect(text).toMatch(/^#\d+ \[3\/3\] RUN echo "greeting=hi there" && cat \/app\/msg.txt$/m);
    expect(text).toMatch(/^#\d+ greeting=hi there$/m);
    expect(text).toMatch(/^#\d+ made at \d+$/m);
    expect(text).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    expect(text).toContain("build arg NOT_SET is not set");
    // The registry holds the build's tag at the recorded digest.
    expect(await registry.digest("dapp", b.id)).toBe(b.image!.split("@")[1]);
    // The image carries Gantry's labels.
    const info = await engine.getImage(`${registry.address}/dapp:${b.id}`).inspect();
    expect(info.Config.Labels).toMatchObject({ "gantry.app": "dapp", "gantry.build": b.id });
  }, 120_000);

  it("takes the process types from a Procfile when there is one", async () => {
    const { b } = await build({
      Dockerfile: `FROM ${base}\nCMD ["node","-e","1"]\n`,
      Procfile: "web: node server.js\nworker: node worker.js\n",
    });
    expect(b.processTypes).toEqual({ web: "node server.js", worker: "node worker.js" });
  }, 120_000);

  it("a failing step fails the build, naming the step and the error; nothing is pushed", async () => {
    const { b, lines } = await build({
      Dockerfile: `FROM ${base}\nRUN echo about to fail && exit 7\n`,
    });
    expect(b.status).toBe("failed");
    expect(b.error).toBe(
      "step [2/2] RUN echo about to fail && exit 7 failed: executor failed running [/bin/sh -c echo about to fail && exit 7]: exit code: 7",
    );
    expect(lines.join("\n")).toMatch(/^#\d+ about to fail$/m);
    expect(lines.join("\n")).toMatch(/^#\d+ ERROR: executor failed running/m);
    expect(lines).toContain("-----> Build failed");
    expect(await registry.digest("dapp", b.id)).toBeUndefined();
  }, 120_000);

  it("refuses to start below the free-space floor", async () => {
    const { b } = await build(
      { Dockerfile: `FROM ${base}\n` },
      { settings: { minFreeBytes: Number.MAX_SAFE_INTEGER } },
    );
    expect(b.status).toBe("failed");
    expect(b.error).toMatch(/^only .* free on the filesystem of .*; builds need at least/);
  });

  it("fails clearly when the server has no registry", async () => {
    const { b } = await build(
      { Dockerfile: `FROM ${base}\n` },
      {
        docker: async () => ({ engine, registry: undefined, buildArgs: { args: {}, missing: [] } }),
      },
    );
    expect(b.status).toBe("failed");
    expect(b.error).toMatch(/runs no image registry/);
  });
});
