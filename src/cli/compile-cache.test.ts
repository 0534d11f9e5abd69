import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadBundle } from "./compile-cache.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-compile-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bundle = (v: number): string =>
  `const { join } = require("node:path");
module.exports.v = ${v};
module.exports.where = join(__dirname, "x") === ${JSON.stringify(join(dir, "x"))} && __filename.endsWith("b.cjs");
module.exports.twice = function twice(n) { return n * 2; };
`;

describe("loadBundle", () => {
  it("runs a CommonJS bundle, then from the code cache its first run saved", () => {
    const file = join(dir, "b.cjs");
    writeFileSync(file, bundle(1));
    const first = loadBundle(file);
    expect(first.fromCache).toBe(false);
    expect(first.exports).toMatchObject({ v: 1, where: true });
    expect((first.exports["twice"] as (n: number) => number)(21)).toBe(42);
    first.save();
    expect(readdirSync(dir).filter((f) => f.endsWith(".cache"))).toHaveLength(1);

    const second = loadBundle(file);
    expect(second.fromCache).toBe(true);
    expect(second.exports).toMatchObject({ v: 1, where: true });
    second.save(); // a cache that fitted is not written again
    expect(readdirSync(dir).filter((f) => f.endsWith(".cache"))).toHaveLength(1);
  });

  it("runs a bundle's lazy require() of what it left out from the cache too", async () => {
    writeFileSync(join(dir, "dep.cjs"), "module.exports.answer = 42;\n");
    const file = join(dir, "lazy.cjs");
    // What esbuild makes of import("./dep") with dynamic imports unsupported (the stack CLI's).
    writeFileSync(
      file,
      'module.exports.dep = () => Promise.resolve().then(() => require("./dep.cjs").answer);\n',
    );
    const first = loadBundle(file);
    expect(await (first.exports["dep"] as () => Promise<number>)()).toBe(42);
    first.save();
    const cached = loadBundle(file);
    expect(cached.fromCache).toBe(true);
    expect(await (cached.exports["dep"] as () => Promise<number>)()).toBe(42);
  });

  it("the stack CLI bundle has no import(): run from a code cache, Node 20 cannot do one", () => {
    // A cached script loses its dynamic-import callback ("A dynamic import callback was not
    // specified"): the second `gantry apply` of an app with `source:` failed on import("tar").
    const built = readFileSync(join(import.meta.dirname, "../../dist/cli/stack-cli.cjs"), "utf8");
    expect(built).toMatch(/require\("tar"\)/);
    expect(built).not.toMatch(/\bimport\(/);
  });

  it("never runs a cache made from other code, even of the same length (a rebuild)", () => {
    const file = join(dir, "b.cjs");
    const before = statSync(file).mtime;
    writeFileSync(file, bundle(2));
    // Rebuilt later: on a file system with coarse timestamps the write alone may not show it.
    utimesSync(file, before, new Date(before.getTime() + 2000));
    const changed = loadBundle(file);
    expect(changed.fromCache).toBe(false);
    expect(changed.exports["v"]).toBe(2);
  });
});
