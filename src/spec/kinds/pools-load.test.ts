/**
 * `addressPlan:` and `pools:` through the real loader: every problem at once, each at its line
 * and field path (`gantry.yaml:7: pools.db.size: …`), before anything is read or written.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStack } from "../load.js";
import { loadConverge } from "./converge-loader.js";
import { defaultRegistry } from "./index.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-pools-load-"));
mkdirSync(join(dir, "states"));
writeFileSync(join(dir, "states/web.yaml"), "resources:\n  - directory: /tmp/x\n");
beforeAll(() => loadConverge());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PLAN = `addressPlan:
  pattern: "10.{location}.{type}.{instance}"
  locations: { nz-por-1: 100 }
  types: { web: 6, db: 8 }
`;

/** The problem lines of PLAN followed by `pools:` with these lines (pools start at line 6). */
const poolProblems = (...pools: string[]): string[] =>
  specProblems(dir, `${PLAN}pools:\n${pools.map((p) => `  ${p}\n`).join("")}`);

describe("addressPlan: and pools: in gantry.yaml", () => {
  it("load as the address-plan item and one pool item each, defaults filled in", () => {
    const s = parseStack(
      dir,
      `${PLAN}pools:\n  web: { provider: local, size: 3, location: nz-por-1, type: web, roles: [web] }\n`,
      defaultRegistry(),
      { env: {} },
    );
    expect(s.items.map((i) => `${i.kind}/${i.name}`)).toEqual([
      "address-plan/addressPlan",
      "pool/web",
    ]);
    expect(s.items[1]!.spec).toMatchObject({
      size: 3,
      repairAfter: "60s",
      startTimeout: "10m",
      maxUnhealthy: "40%",
      vars: {},
    });
  });

  it.each([
    [
      "a pattern without {instance}",
      `addressPlan:\n  pattern: "10.{location}.{type}.1"\n  locations: { a: 1 }\n  types: { web: 6 }\n`,
      "gantry.yaml:2: addressPlan.pattern: needs {instance}, or every node would share one address",
    ],
    [
      "two types on one number",
      `addressPlan:\n  pattern: "10.{location}.{type}.{instance}"\n  locations: { a: 1 }\n  types:\n    web: 6\n    db: 6\n`,
      "gantry.yaml:6: addressPlan.types.db: 6 is already web's number (two types would share addresses)",
    ],
    [
      "a map the pattern does not use",
      `stack: { name: s }\naddressPlan:\n  pattern: "10.0.{type}.{instance}"\n  locations: { a: 1 }\n  types: { web: 6 }\n`,
      'gantry.yaml:4: addressPlan.locations: the pattern "10.0.{type}.{instance}" has no {location}, so these numbers would not be used',
    ],
    [
      "an unknown field",
      `addressPlan:\n  pattern: "10.0.0.{instance}"\n  typs: {}\n`,
      expect.stringMatching(/^gantry\.yaml:3: addressPlan\.typs: unknown field.*"types"/),
    ],
    [
      "the long form with another name",
      `addressPlans:\n  other: { pattern: "10.0.0.{instance}" }\n`,
      "gantry.yaml:2: addressPlans.other: there is one address plan: write it as addressPlan: at the top",
    ],
  ])("refuses an address plan with %s", (_what, text, line) => {
    expect(specProblems(dir, text)).toEqual([line]);
  });

  it("refuses pools without an address plan", () => {
    expect(specProblems(dir, "pools:\n  web: { provider: local, size: 1 }\n")).toEqual([
      "gantry.yaml:2: pools.web: pools need an addressPlan: none loaded — add addressPlan: {pattern, locations, types} at the top of gantry.yaml (docs/pools.md)",
    ]);
  });

  it.each([
    [
      "an unknown type",
      "web: { provider: local, size: 1, location: nz-por-1, type: wbe }",
      'gantry.yaml:6: pools.web.type: unknown type "wbe" (the address plan has: web, db)',
    ],
    [
      "no location where the plan needs one",
      "web: { provider: local, size: 1, type: web }",
      'gantry.yaml:6: pools.web.location: required by the address plan "10.{location}.{type}.{instance}"',
    ],
    [
      "a size below min",
      "web: { provider: local, size: 1, min: 2, max: 4, location: nz-por-1, type: web }",
      "gantry.yaml:6: pools.web.size: 1 is below min 2: a pool is never smaller than its min",
    ],
    [
      "a size above max",
      "web: { provider: local, size: 5, max: 4, location: nz-por-1, type: web }",
      "gantry.yaml:6: pools.web.size: 5 is above max 4",
    ],
    [
      "min above max",
      "web: { provider: local, size: 3, min: 4, max: 2, location: nz-por-1, type: web }",
      "gantry.yaml:6: pools.web.min: 4 is above max 2",
    ],
    [
      "docker settings on a local pool",
      "web: { provider: local, size: 1, location: nz-por-1, type: web, docker: { image: x } }",
      "gantry.yaml:6: pools.web.docker: settings for the docker provider on a local pool: remove them, or set provider: docker",
    ],
    [
      "an ssh pool without hosts",
      "web: { provider: ssh, size: 1, location: nz-por-1, type: web }",
      "gantry.yaml:6: pools.web.ssh: provider ssh needs the hosts to run nodes on: ssh: {hosts: [host-1, …]}",
    ],
    [
      "an ssh pool larger than its hosts",
      "web: { provider: ssh, size: 2, location: nz-por-1, type: web, ssh: { hosts: [h1] } }",
      "gantry.yaml:6: pools.web.size: 2 nodes need 2 hosts; ssh.hosts has 1",
    ],
    [
      "an ssh pool whose max exceeds its hosts",
      "web: { provider: ssh, size: 1, max: 3, location: nz-por-1, type: web, ssh: { hosts: [h1, h2] } }",
      "gantry.yaml:6: pools.web.max: 3 nodes need 3 hosts; ssh.hosts has 2",
    ],
    [
      "an exec pool without its commands",
      "web: { provider: exec, size: 1, location: nz-por-1, type: web }",
      "gantry.yaml:6: pools.web.exec: provider exec needs its commands: exec: {create: [...], destroy: [...], list: [...]}",
    ],
    [
      "an unknown provider",
      "web: { provider: aws, size: 1, location: nz-por-1, type: web }",
      expect.stringMatching(/^gantry\.yaml:6: pools\.web\.provider: /),
    ],
    [
      "a bad duration",
      "web: { provider: local, size: 1, location: nz-por-1, type: web, repairAfter: soon }",
      "gantry.yaml:6: pools.web.repairAfter: repairAfter: a duration such as 30s, 2m or 1m30s",
    ],
    [
      "a name that cannot prefix node names",
      "Web_1: { provider: local, size: 1, location: nz-por-1, type: web }",
      expect.stringMatching(/^gantry\.yaml:6: pools\.Web_1: the pool name must be lower-case/),
    ],
  ])("refuses a pool with %s", (_what, pool, line) => {
    expect(poolProblems(pool)).toEqual([line]);
  });

  it("reports every pool's problems at once, a clash at the second pool of the two", () => {
    expect(
      poolProblems(
        "web: { provider: local, size: 2, location: nz-por-1, type: web }",
        "web2: { provider: local, size: 2, location: nz-por-1, type: web }",
        "db: { provider: exec, size: 1, location: nz-por-1, type: db }",
        "big: { provider: local, size: 1, max: 300, location: nz-por-1, type: dbb }",
      ),
    ).toEqual([
      "gantry.yaml:7: pools.web2.type: pool web already has this location and type (two pools would share addresses)",
      "gantry.yaml:8: pools.db.exec: provider exec needs its commands: exec: {create: [...], destroy: [...], list: [...]}",
      expect.stringMatching(/^gantry\.yaml:9: pools\.big\.max: /),
    ]);
  });

  it("needs a pool's roles among the stack's roles when it defines roles, and only then", () => {
    const pool = "web: { provider: local, size: 1, location: nz-por-1, type: web, roles: [wbe] }";
    expect(poolProblems(pool)).toEqual([]);
    expect(
      specProblems(dir, `${PLAN}states: ./states\nroles:\n  web: [web]\npools:\n  ${pool}\n`),
    ).toEqual([
      'gantry.yaml:9: pools.web.roles[0]: the stack defines no role "wbe" — did you mean "web"?',
    ]);
  });
});
