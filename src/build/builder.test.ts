import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as tar from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildSchema } from "../model/app.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { Store } from "../store/index.js";
import { ArtifactStore } from "./artifacts.js";
import { buildKey, runBuild, type RunBuildOptions } from "./builder.js";
import { buildLogPath } from "./buildlog.js";
import { listTree, unpackTar } from "./tarball.js";

const HELLO = resolve(import.meta.dirname, "../../examples/hello");

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "gantry-builder-"));
  store = await openSqliteStore({ dir: join(dir, "store"), durability: "process" });
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A source tree as the tar stream git archive would send. */
function source(files: Record<string, string | Buffer>): AsyncIterable<Buffer> {
  const src = mkdtempSync(join(dir, "src-"));
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(src, name, ".."), { recursive: true });
    writeFileSync(join(src, name), body);
  }
  return tar.c({ cwd: src, portable: true }, listTree(src)) as unknown as AsyncIterable<Buffer>;
}

async function build(opts: Partial<RunBuildOptions> & Pick<RunBuildOptions, "source">) {
  const lines: string[] = [];
  const b = await runBuild({
    dataDir: join(dir, "data"),
    store,
    app: "hello",
    commit: "a".repeat(40),
    createdBy: "test",
    onLine: (l) => lines.push(l),
    ...opts,
  });
  return { build: b, lines, output: lines.join("\n") };
}

async function artifactFiles(sha: string): Promise<string[]> {
  const out = mkdtempSync(join(dir, "unpacked-"));
  await unpackTar(new ArtifactStore(join(dir, "data")).open(sha).stream, out);
  return listTree(out);
}

describe("runBuild", () => {
  it("builds examples/hello without installing anything, recording the build and its log", async () => {
    const src = mkdtempSync(join(dir, "hello-"));
    cpSync(HELLO, src, { recursive: true });
    const started = Date.now();
    const {
      build: b,
      output,
      lines,
    } = await build({
      source: tar.c({ cwd: src }, listTree(src)) as unknown as AsyncIterable<Buffer>,
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(b).toMatchObject({
      status: "succeeded",
      stack: "node",
      processTypes: { web: "npm start" },
      commit: "a".repeat(40),
    });
    expect(output).toContain("-----> Node app detected");
    expect(output).toContain("-----> No dependencies to install");
    expect(lines.at(-1)).toBe(
      `-----> Build succeeded: artifact ${b.artifact!.slice(0, 12)} (${lines.at(-1)!.match(/\(([^)]+)\)$/)![1]})`,
    );
    const stored = BuildSchema.parse(
      JSON.parse(Buffer.from((await store.get(buildKey("hello", b.id)))!.value).toString()),
    );
    expect(stored).toEqual(b);
    expect(await artifactFiles(b.artifact!)).toEqual(["README.md", "package.json", "server.js"]);
    const log = readFileSync(buildLogPath(join(dir, "data"), "hello", b.id), "utf8");
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z -----> Building hello from commit a{12}\n/);
    expect(log).toContain("Build succeeded");
  });

  it("fails a source it cannot run, saying what is missing", async () => {
    const { build: b, output } = await build({ source: source({ "index.js": "1" }) });
    expect(b.status).toBe("failed");
    expect(b.error).toBe(
      "no Procfile and no package.json start script — add a Procfile like `web: node server.js`",
    );
    expect(b.artifact).toBeUndefined();
    expect(output).toContain(" !     no Procfile and no package.json start script");
    const stored = JSON.parse(
      Buffer.from((await store.get(buildKey("hello", b.id)))!.value).toString(),
    );
    expect(stored.status).toBe("failed");
  });

  it("installs dependencies with npm into the artifact, with a per-app cache", async () => {
    // A dependency as a local tarball: a real `npm install`, no network.
    const dep = mkdtempSync(join(dir, "dep-"));
    mkdirSync(join(dep, "package"));
    writeFileSync(
      join(dep, "package/package.json"),
      JSON.stringify({ name: "dep", version: "1.0.0" }),
    );
    writeFileSync(join(dep, "package/index.js"), "module.exports = 42;\n");
    const tgz = join(dep, "dep-1.0.0.tgz");
    await tar.c({ cwd: dep, gzip: true, file: tgz }, ["package"]);
    const { build: b, output } = await build({
      source: source({
        "package.json": JSON.stringify({
          name: "withdeps",
          dependencies: { dep: "file:vendor/dep-1.0.0.tgz" },
        }),
        "vendor/dep-1.0.0.tgz": readFileSync(tgz),
        Procfile: "web: node -e \"require('dep')\"\n",
      }),
    });
    expect(b.status, output).toBe("succeeded");
    expect(output).toContain("-----> Installing dependencies (npm install, 1 dependency)");
    expect(await artifactFiles(b.artifact!)).toContain("node_modules/dep/index.js");
    expect(existsSync(join(dir, "data/cache/hello/npm"))).toBe(true);
  });

  it("stops an install that takes longer than the time limit", async () => {
    const { build: b } = await build({
      source: source({
        "package.json": JSON.stringify({ dependencies: { x: "1" }, scripts: { start: "x" } }),
      }),
      settings: {
        installTimeoutMs: 300,
        npm: [process.execPath, "-e", "setTimeout(() => {}, 30000)"],
      },
    });
    expect(b.status).toBe("failed");
    expect(b.error).toBe("installing dependencies took longer than 300ms (the limit)");
  });

  it("names a failed npm run", async () => {
    const { build: b, output } = await build({
      source: source({
        "package.json": JSON.stringify({ dependencies: { x: "1" }, scripts: { start: "x" } }),
      }),
      settings: {
        npm: [process.execPath, "-e", "console.error('E404 no such package'); process.exit(3)"],
      },
    });
    expect(b.error).toBe("npm install failed (exit code 3) — see the output above");
    expect(output).toContain("       E404 no such package");
  });
});
