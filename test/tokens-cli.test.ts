/** The token commands of the CLI, in-process, against a real API server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
  process.env["GANTRY_ADDR"] = t.url;
  process.env["GANTRY_TOKEN"] = t.adminToken;
});
afterAll(async () => {
  delete process.env["GANTRY_ADDR"];
  delete process.env["GANTRY_TOKEN"];
  await t?.close();
});

const secretIn = (out: string): string => /secret: (gty_\S+)/.exec(out)![1]!;

describe("gantry tokens", () => {
  it("creates a deployer for two apps with a ttl; ls shows its role and expiry", async () => {
    const r = await gantry(
      "tokens",
      "create",
      "ci",
      "--role",
      "deployer",
      "--app",
      "hello",
      "--app",
      "api",
      "--ttl",
      "24h",
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/created token ci \(tok_[0-9a-f]+\), role deployer/);
    expect(r.out).toMatch(/expires at 20\d\d-/);
    const ls = await gantry("tokens", "ls");
    const line = ls.out.split("\n").find((l) => l.startsWith("ci "))!;
    expect(line).toContain("deployer(hello,api)");
    expect(line).not.toContain("never");
    const json = JSON.parse((await gantry("tokens", "ls", "--json")).out) as {
      name: string;
      apps?: string[];
    }[];
    expect(json.find((x) => x.name === "ci")?.apps).toEqual(["hello", "api"]);
  });

  it("names the flag when one is wrong, and creates nothing", async () => {
    const cases: [string[], RegExp][] = [
      [["--role", "root"], /unknown role "root".*\(--role\)/],
      [["--role", "deployer"], /needs an app \(--app\)/],
      [["--app", "hello"], /--app needs --role deployer/],
      [["--role", "viewer", "--ttl", "1 day"], /--ttl must be a duration/],
      [["--role", "viewer", "--app", "hello"], /only the deployer role takes apps.*\(--app\)/],
      [["--policy", "bogus"], /--policy/],
    ];
    for (const [flags, message] of cases) {
      const r = await gantry("tokens", "create", "bad", ...flags);
      expect(r.code, flags.join(" ")).not.toBe(0);
      expect(r.err, flags.join(" ")).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
    expect((await t.admin.tokensList()).some((x) => x.name === "bad")).toBe(false);
  });

  it("tokens:rotate prints a new secret once; the old one stops working", async () => {
    const made = await gantry("tokens", "create", "rot", "--role", "viewer");
    const old = secretIn(made.out);
    const r = await gantry("tokens:rotate", "rot");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rotated token rot .*old secret no longer works/);
    const fresh = secretIn(r.out);
    expect(fresh).not.toBe(old);
    const withOld = await gantry("tokens:can", old);
    expect(withOld.code).not.toBe(0);
    expect(withOld.err).toMatch(/not valid/);
    expect((await gantry("tokens:can", fresh)).code).toBe(0);
  });

  it("tokens:can lists resources × access by name or secret, in a table or JSON", async () => {
    const made = await gantry("tokens", "create", "look", "--role", "viewer");
    const table = await gantry("tokens:can", "look");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/token look \(role viewer\)/);
    expect(table.out).toMatch(/^kv\s+read\s+\*$/m);
    expect(table.out).toMatch(/^kv\s+write\s+-$/m);
    expect(table.out).toMatch(/^config values\s+read\s+-$/m);
    const json = JSON.parse((await gantry("tokens:can", secretIn(made.out), "--json")).out) as {
      token: string;
      can: { resource: string; access: string; names: string[] }[];
    };
    expect(json.token).toBe("look");
    expect(json.can.find((c) => c.resource === "app" && c.access === "read")?.names).toEqual(["*"]);
    const missing = await gantry("tokens:can", "nobody");
    expect(missing.code).not.toBe(0);
    expect(missing.err).toMatch(/no token named "nobody"/);
  });

  it("has help with examples", async () => {
    const r = await gantry("tokens", "create", "--help");
    expect(r.out + r.err).toMatch(/--role deployer --app hello/);
  });
});
