/** `states: <folder>` at the top of gantry.yaml, as users write it: the converge kind's item. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpecLoadError } from "../errors.js";
import { parseStack } from "../load.js";
import { loadConverge } from "./converge-loader.js";
import { defaultRegistry } from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-states-top-"));
beforeAll(async () => {
  await loadConverge();
  mkdirSync(join(dir, "states"));
  writeFileSync(
    join(dir, "states", "web.yaml"),
    "resources:\n  - file: /tmp/gantry-never/web\n    content: hi\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problemsOf = (text: string): string[] => {
  try {
    parseStack(dir, text, defaultRegistry());
  } catch (err) {
    if (err instanceof SpecLoadError) return err.problems.map((p) => `${p.line}: ${p.path}`);
    throw err;
  }
  return [];
};

describe("states: at the top of gantry.yaml", () => {
  it("is the converge kind's item `states`, and roles may name its states", () => {
    const s = parseStack(dir, "states: ./states\nroles:\n  web: [web]\n", defaultRegistry());
    expect(s.items.map((i) => `${i.kind}/${i.name}=${JSON.stringify(i.spec)}`)).toEqual([
      'converge/states="./states"',
      'role/web={"states":["web"],"vars":{}}',
    ]);
  });

  it("is named, with its line, where it is written when it is wrong", () => {
    expect(problemsOf("kv:\n  a: b\nstates: ./nope\n")).toEqual(["3: states"]);
  });

  it("is refused beside converge.states: one of the two", () => {
    expect(problemsOf("states: ./states\nconverge:\n  states: ./states\n")).toEqual(["1: states"]);
  });
});
