import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT_NO_BUNDLE, EXIT_SHORT_UPLOAD, hostCommand, uploadCommand } from "./remote.js";

const home = mkdtempSync(join(tmpdir(), "gantry-ssh-remote-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const hash = "0123456789ab";

/** Run a command line as ssh's remote login shell would: `sh -c LINE`, HOME set. */
const run = (line: string, input = "") =>
  spawnSync("sh", ["-c", line], { input, encoding: "utf8", env: { ...process.env, HOME: home } });

describe("the ssh provider's remote commands", () => {
  it("answer list and destroy with no nodes where the root does not exist, without a bundle", () => {
    const r = run(hostCommand("nowhere/at/all", hash, "list"));
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: [] });
  });

  it("ask for the bundle where the root exists without it", () => {
    mkdirSync(join(home, "pools"), { recursive: true });
    expect(run(hostCommand("pools", hash, "list")).status).toBe(EXIT_NO_BUNDLE);
    expect(run(hostCommand(join(home, "fresh"), hash, "create")).status).toBe(EXIT_NO_BUNDLE);
  });

  it("keep an upload only when every byte arrived, under a relative root in $HOME", () => {
    const content = "console.log('agent')\n";
    const short = run(uploadCommand("pools", hash, content.length + 1), content);
    expect(short.status).toBe(EXIT_SHORT_UPLOAD);
    expect(readdirSync(join(home, "pools", ".bundles"))).toEqual([]);
    expect(run(uploadCommand("pools", hash, content.length), content).status).toBe(0);
    const file = join(home, "pools", ".bundles", `gantry-agent-${hash}.mjs`);
    expect(readFileSync(file, "utf8")).toBe(content);
  });

  it("never run what a root holds: a root with quotes and $() is one path", () => {
    const root = join(home, "it's $(touch pwned) `touch pwned2`");
    expect(run(uploadCommand(root, hash, 2), "ok").status).toBe(0);
    expect(existsSync(join(root, ".bundles", `gantry-agent-${hash}.mjs`))).toBe(true);
    expect(existsSync("pwned")).toBe(false);
    expect(existsSync("pwned2")).toBe(false);
  });

  it("refuse a hash that is not one", () => {
    expect(() => hostCommand("r", "'; rm -rf /", "list")).toThrow(/12 hex digits/);
  });
});
