import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../../test/helpers/api.js";
import { SpecLoadError } from "../spec/errors.js";
import { runPlan } from "./stack-plan.js";

let t: TestApi;
const dir = mkdtempSync(join(tmpdir(), "gantry-stack-plan-"));
const env = { addr: process.env["GANTRY_ADDR"], token: process.env["GANTRY_TOKEN"] };
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const [k, v] of [
    ["GANTRY_ADDR", env.addr],
    ["GANTRY_TOKEN", env.token],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

function output(): {
  lines: string[];
  out: (l: string) => void;
  err: (l: string) => void;
  tty: boolean;
} {
  const lines: string[] = [];
  return { lines, out: (l) => lines.push(l), err: (l) => lines.push(l), tty: false };
}

describe("gantry plan (runPlan)", () => {
  it("reads the records while the spec loads, and plans from them", async () => {
    process.env["GANTRY_ADDR"] = t.url;
    process.env["GANTRY_TOKEN"] = t.adminToken;
    writeFileSync(join(dir, "gantry.yaml"), "kv:\n  plan-test/a: one\n");
    const o = output();
    expect(await runPlan(dir, { detailedExitcode: true }, o)).toBe(2);
    expect(o.lines.join("\n")).toMatch(/\+ kv plan-test\/a[\s\S]*Plan: 1 to create/);
  });

  it("fails with the load errors alone when the folder does not load, whatever the server", async () => {
    process.env["GANTRY_ADDR"] = "http://127.0.0.1:1"; // nothing listens: the early read fails
    writeFileSync(join(dir, "gantry.yaml"), "kvv:\n  a: b\n");
    const err = await runPlan(dir, {}, output()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecLoadError);
    expect((err as Error).message).toMatch(/kvv: unknown section/);
  });
});
