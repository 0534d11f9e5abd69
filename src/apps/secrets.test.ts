import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadOrCreateKey, SecretBox, SecretError, secretKeyPath } from "./secrets.js";

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "gantry-secrets-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("SecretBox", () => {
  it("round-trips values, and never stores the plaintext", () => {
    const box = new SecretBox({ dataDir: tempDir() });
    const sealed = box.encrypt("s3cret value ✓", "config hello/TOKEN");
    expect(sealed).not.toContain("s3cret");
    expect(Buffer.from(sealed, "base64").toString("latin1")).not.toContain("s3cret");
    expect(box.decrypt(sealed, "config hello/TOKEN")).toBe("s3cret value ✓");
    // A fresh IV each time: the same value never encrypts to the same text.
    expect(box.encrypt("x", "c")).not.toBe(box.encrypt("x", "c"));
    expect(box.open("hello", box.seal("hello", { A: "1", B: "" }))).toEqual({ A: "1", B: "" });
  });

  it("refuses a tampered ciphertext", () => {
    const box = new SecretBox({ dataDir: tempDir() });
    const raw = Buffer.from(box.encrypt("hello", "config a/B"), "base64");
    raw[14] = raw[14]! ^ 1;
    expect(() => box.decrypt(raw.toString("base64"), "config a/B")).toThrow(SecretError);
    expect(() => box.decrypt("c2hvcnQ=", "config a/B")).toThrow(/damaged/);
  });

  it("binds a value to its app and name: copied elsewhere, it does not decrypt", () => {
    const box = new SecretBox({ dataDir: tempDir() });
    const sealed = box.seal("hello", { TOKEN: "t" });
    expect(() => box.open("other", sealed)).toThrow(SecretError);
    expect(() => box.open("hello", { OTHER: sealed["TOKEN"]! })).toThrow(SecretError);
  });

  it("refuses values sealed with another data directory's key", () => {
    const a = new SecretBox({ dataDir: tempDir() });
    const b = new SecretBox({ dataDir: tempDir() });
    expect(() => b.decrypt(a.encrypt("v", "c"), "c")).toThrow(/another data directory/);
  });
});

describe("the key file", () => {
  it("is created once, 32 bytes, mode 0600, and reused", () => {
    const dir = tempDir();
    const key = loadOrCreateKey(dir);
    expect(key).toHaveLength(32);
    expect(statSync(secretKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKey(dir).equals(key)).toBe(true);
    // A box made later with the same directory reads what an earlier one sealed.
    const sealed = new SecretBox({ dataDir: dir }).encrypt("v", "c");
    expect(new SecretBox({ dataDir: () => dir }).decrypt(sealed, "c")).toBe("v");
  });

  it("is refused when others can read it or it is not a key", () => {
    const dir = tempDir();
    loadOrCreateKey(dir);
    chmodSync(secretKeyPath(dir), 0o644);
    expect(() => loadOrCreateKey(dir)).toThrow(/chmod 600/);
    writeFileSync(secretKeyPath(dir), "short\n", { mode: 0o600 });
    chmodSync(secretKeyPath(dir), 0o600);
    expect(() => loadOrCreateKey(dir)).toThrow(/32-byte key/);
    expect(readFileSync(secretKeyPath(dir), "utf8")).toBe("short\n");
  });
});
