import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { SpecItem } from "../kind.js";
import { diffNode, nodeKind, type NodeSpec } from "./nodes.js";
import { statesHash } from "../../model/converge.js";
import { loadConverge } from "./converge-loader.js";
import { fileHash, rolesOf, topYaml, type RoleSpec } from "./roles-bundle.js";
import { convergeKind, diffStates } from "./roles-states.js";
import { diffRole, roleKind } from "./roles.js";

beforeAll(() => loadConverge());

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const BASE = "resources:\n  - file: /tmp/gantry-never/base\n    content: hi\n";
const WEB = "resources:\n  - file: /tmp/gantry-never/web\n    content: hi\n";

/** A stack folder with a states folder holding these files. */
function stack(states: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gantry-stack-"));
  dirs.push(dir);
  mkdirSync(join(dir, "states"));
  for (const [p, body] of Object.entries(states)) writeFileSync(join(dir, "states", p), body);
  return dir;
}

const item = <S>(kind: string, name: string, spec: S): SpecItem<S> => ({
  kind,
  name,
  spec,
  at: `gantry.yaml:1`,
});
const role = (name: string, states: string[], vars = {}): SpecItem<RoleSpec> =>
  item("role", name, { states, vars });
const folder = item("converge", "states", "./states");

describe("the top.yaml the stack writes", () => {
  it("reads back as the roles it was written from, in a stable order", () => {
    const roles = new Map<string, RoleSpec>([
      ["web", { states: ["base", "web"], vars: { workers: 4 } }],
      ["db", { states: ["base"], vars: {} }],
    ]);
    const text = topYaml(roles);
    expect(text).toBe(topYaml(new Map([...roles].reverse())));
    expect(text.indexOf("db:")).toBeLessThan(text.indexOf("web:"));
    expect(rolesOf({ "top.yaml": text })).toEqual(roles);
    expect(rolesOf({ "top.yaml": topYaml(new Map()) }).size).toBe(0);
    expect(rolesOf({ "base.yaml": BASE }).size).toBe(0);
  });
});

describe("the role kind", () => {
  it("diffs the states list whole and vars by name", () => {
    expect(diffRole({ states: ["base"], vars: { a: 1 } }, undefined)).toEqual([
      { path: "states", new: ["base"] },
      { path: "vars.a", new: 1 },
    ]);
    expect(
      diffRole({ states: ["base"], vars: { a: 1 } }, { states: ["base"], vars: { a: 1 } }),
    ).toEqual([]);
    expect(
      diffRole(
        { states: ["base", "web"], vars: { a: 2 } },
        { states: ["base"], vars: { a: 1, b: 0 } },
      ),
    ).toEqual([
      { path: "states", old: ["base"], new: ["base", "web"] },
      { path: "vars.a", old: 1, new: 2 },
      { path: "vars.b", old: 0 },
    ]);
  });

  it("refuses a role naming a state the folder does not have, with the converge loader's words", () => {
    const dir = stack({ "base.yaml": BASE, "web.yaml": WEB });
    const ok = role("web", ["base", "web"]);
    const bad = role("db", ["base", "wbe"]);
    const problems = roleKind.check!([ok, bad], [folder, ok, bad], { dir });
    expect(problems.get("web")).toBeUndefined();
    expect(problems.get("db")).toEqual([
      {
        path: "states",
        message: expect.stringMatching(/state "wbe" not found.*did you mean "web"/),
      },
    ]);
  });

  it("reports a broken state file a role runs at its file:line inside the stack", () => {
    const dir = stack({
      "base.yaml": BASE,
      "web.yaml": "resources:\n  - file: /x\n    mode: purple\n",
    });
    const web = role("web", ["web"]);
    const [p] = roleKind.check!([web], [folder, web], { dir }).get("web")!;
    expect(p!.message).toMatch(/^states\/web\.yaml:3: /);
  });

  it("reads the accepted shorthand (a list of states)", () => {
    expect(roleKind.schema.parse(["base", "web"])).toEqual({ states: ["base", "web"], vars: {} });
    expect(roleKind.schema.safeParse({ states: ["a"], vras: {} }).success).toBe(false);
  });
});

describe("the states folder", () => {
  it("names the files that differ from the pushed ones", () => {
    const pushed = { "base.yaml": "aaaaaaaaaaaa", "old.yaml": "bbbbbbbbbbbb" };
    const fields = diffStates(pushed, { "base.yaml": BASE, "web.yaml": WEB });
    expect(fields.map((f) => [f.path, f.old !== undefined, f.new !== undefined])).toEqual([
      ["files.base.yaml", true, true],
      ["files.old.yaml", true, false],
      ["files.web.yaml", false, true],
    ]);
  });

  it("tells a changed folder (intended) from a hand push (drift) by the hash it last pushed", async () => {
    const dir = stack({ "base.yaml": BASE, "web.yaml": WEB });
    const ctx = { dir } as never;
    const pushed = { "base.yaml": fileHash(BASE), "web.yaml": fileHash("old") };
    const fromStack = {
      files: pushed,
      pushedFrom: statesHash({ "base.yaml": BASE, "web.yaml": "old" }),
    };
    const changed = await convergeKind.diff(
      folder,
      { name: "states", value: fromStack, revisions: {} },
      ctx,
    );
    expect(changed).toEqual([
      { path: "files.web.yaml", old: fileHash("old"), new: fileHash(WEB), fromFiles: true },
    ]);
    const byHand = await convergeKind.diff(
      folder,
      { name: "states", value: { files: pushed }, revisions: {} },
      ctx,
    );
    expect(byHand).toEqual([{ path: "files.web.yaml", old: fileHash("old"), new: fileHash(WEB) }]);
  });

  it("must exist, lie in the stack, hold no top.yaml and load", () => {
    const check = (dir: string, spec = "./states") =>
      convergeKind.check!([item("converge", "states", spec)], [], { dir }).get("states")?.[0]
        ?.message;
    expect(check(stack({ "base.yaml": BASE }))).toBeUndefined();
    expect(check(stack({ "base.yaml": BASE }), "./nope")).toMatch(/does not exist/);
    expect(check(stack({ "base.yaml": BASE }), "../elsewhere")).toMatch(/outside the stack/);
    expect(check(stack({ "base.yaml": BASE, "top.yaml": "web: [base]\n" }))).toMatch(
      /^states\/top\.yaml: the stack writes top\.yaml/,
    );
    expect(check(stack({ "base.yaml": "resources:\n  - flie: /x\n" }))).toMatch(
      /^states\/base\.yaml:2: .*unknown resource type "flie"/,
    );
    const other = convergeKind.check!([item("converge", "folder", "./states")], [], {
      dir: stack({ "base.yaml": BASE }),
    });
    expect(other.get("folder")?.[0]?.message).toMatch(/converge has one, "states"/);
  });
});

describe("the node kind", () => {
  const spec: NodeSpec = { roles: ["web"], vars: { port: 8080 }, labels: { zone: "a" } };

  it("says a node that has not joined waits for it, without making that a change", () => {
    const fields = diffNode("web-3", spec, undefined);
    expect(fields.at(-1)).toMatchObject({ path: "joined", info: true });
    expect(fields.slice(0, -1)).toEqual([
      { path: "roles", new: ["web"] },
      { path: "vars.port", new: 8080 },
      { path: "labels.zone", new: "a" },
    ]);
    expect(diffNode("web-3", spec, { joined: false, settings: spec })).toEqual([
      expect.objectContaining({ path: "joined", info: true }),
    ]);
  });

  it("diffs a joined node's roles, vars and labels", () => {
    expect(diffNode("n", spec, { joined: true, settings: spec })).toEqual([]);
    expect(
      diffNode("n", spec, {
        joined: true,
        settings: { roles: ["web", "db"], vars: { port: 80 }, labels: {} },
      }),
    ).toEqual([
      { path: "roles", old: ["web", "db"], new: ["web"] },
      { path: "vars.port", old: 80, new: 8080 },
      { path: "labels.zone", new: "a" },
    ]);
  });

  it("refuses a role the stack does not define, when it defines roles", () => {
    const n = item("node", "web-1", { ...spec, roles: ["wbe"] });
    const withRoles = nodeKind.check!([n], [role("web", ["base"]), n], { dir: "/" });
    expect(withRoles.get("web-1")).toEqual([
      { path: "roles[0]", message: 'the stack defines no role "wbe" — did you mean "web"?' },
    ]);
    expect(nodeKind.check!([n], [n], { dir: "/" }).size).toBe(0);
    expect(nodeKind.schema.safeParse({ roles: ["web"], lables: {} }).success).toBe(false);
  });
});
