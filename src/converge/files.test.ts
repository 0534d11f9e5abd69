import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readStatesDir } from "./files.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-states-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("readStatesDir", () => {
  it("reads every file by relative path, skipping .git", () => {
    mkdirSync(join(dir, "templates"));
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, "top.yaml"), "web: [base]\n");
    writeFileSync(join(dir, "templates/site.j2"), "{{ port }}\n");
    writeFileSync(join(dir, ".git/HEAD"), "ref: x\n");
    expect(readStatesDir(dir)).toEqual({
      "top.yaml": "web: [base]\n",
      "templates/site.j2": "{{ port }}\n",
    });
  });

  it("refuses binary and oversized files, naming them", () => {
    writeFileSync(join(dir, "blob.bin"), Buffer.from([0xff, 0xfe, 0x00]));
    expect(() => readStatesDir(dir)).toThrow("blob.bin: not UTF-8 text");
    rmSync(join(dir, "blob.bin"));
    writeFileSync(join(dir, "big.txt"), Buffer.alloc(1024 * 1024 + 1, 97));
    expect(() => readStatesDir(dir)).toThrow("big.txt: 1048577 bytes is too large");
  });

  it("names a missing dir", () => {
    expect(() => readStatesDir(join(dir, "nope"))).toThrow(/states dir ".*nope" does not exist/);
  });
});
