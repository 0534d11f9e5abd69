import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
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

  it("lets the bundle import() what it left out, resolved from its own folder", async () => {
    writeFileSync(join(dir, "dep.mjs"), "export const answer = 42;\n");
    const file = join(dir, "lazy.cjs");
    writeFileSync(file, 'module.exports.dep = () => import("./dep.mjs").then((m) => m.answer);\n');
    const b = loadBundle(file);
    expect(await (b.exports["dep"] as () => Promise<number>)()).toBe(42);
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
