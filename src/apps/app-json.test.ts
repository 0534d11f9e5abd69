import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterAll, describe, expect, it } from "vitest";
import { readAppJson, requiredEnv } from "./app-json.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-app-json-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("app.json", () => {
  it("names the env entries marked required", () => {
    const text = JSON.stringify({
      env: {
        A: { required: true },
        B: { required: false },
        C: "plain",
        "bad-name": { required: true },
      },
    });
    expect(requiredEnv(text)).toEqual(["A"]);
    expect(requiredEnv("not json")).toEqual([]);
    expect(requiredEnv(JSON.stringify({ env: [] }))).toEqual([]);
  });

  it("reads app.json from a slug, and nothing from one without it", async () => {
    const src = join(dir, "src");
    mkdirSync(src);
    writeFileSync(join(src, "app.json"), '{"env":{"X":{"required":true}}}');
    writeFileSync(join(src, "server.js"), "");
    await tar.c({ gzip: true, file: join(dir, "a.tar.gz"), cwd: src }, ["."]);
    expect(await readAppJson(join(dir, "a.tar.gz"))).toBe('{"env":{"X":{"required":true}}}');
    await tar.c({ gzip: true, file: join(dir, "b.tar.gz"), cwd: src }, ["server.js"]);
    expect(await readAppJson(join(dir, "b.tar.gz"))).toBeUndefined();
    expect(await readAppJson(join(dir, "missing.tar.gz"))).toBeUndefined();
  });
});
