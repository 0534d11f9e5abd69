/**
 * The app, converge, role and node kinds through the real loader: bad input is reported before
 * anything changes, every problem at once as `gantry.yaml:LINE: PATH: message`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConverge } from "./converge-loader.js";
import { specProblems } from "./spec-problems.js";

const dir = mkdtempSync(join(tmpdir(), "gantry-kinds-load-"));
mkdirSync(join(dir, "apps/web"), { recursive: true });
writeFileSync(join(dir, "apps/web/server.js"), "");
mkdirSync(join(dir, "states"));
writeFileSync(join(dir, "states/base.yaml"), "resources:\n  - directory: /tmp/x\n");
beforeAll(() => loadConverge()); // what loadStack's Kind.preload does; parseStack does not
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (text: string): string[] => specProblems(dir, text);

describe("loading apps, converge, roles and nodes", () => {
  it("accepts a good stack", () => {
    expect(
      problems(`apps:
  web:
    source: ./apps/web
    domains: [www.example.com]
    secrets: [DB]
converge:
  states: ./states
roles:
  base: [base]
nodes:
  n1: { roles: [base] }
`),
    ).toEqual([]);
  });

  it("reports each problem with its line and path", () => {
    const found = problems(`apps:
  web:
    source: ./apps/nope
    domains: [www.example.com]
  api:
    domains: [www.example.com]
    config: { DB: x }
    secrets: [DB]
    formaton: { web: 1 }
converge:
  states: ./states
roles:
  base: [base, nginx]
nodes:
  n1: { roles: [bsae] }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^gantry\.yaml:3: apps\.web\.source: the folder "\.\/apps\/nope" does not exist/,
        ),
        expect.stringMatching(/^gantry\.yaml:9: apps\.api\.formaton: unknown field.*formation/),
        expect.stringMatching(/^gantry\.yaml:13: roles\.base\.states: state "nginx" not found/),
        expect.stringMatching(
          /^gantry\.yaml:15: nodes\.n1\.roles\[0\]: the stack defines no role "bsae"/,
        ),
      ]),
    );
  });

  it("finds a domain used twice and a var both in config and secrets", () => {
    const found = problems(`apps:
  web:
    domains: [www.example.com]
  api:
    domains: [www.example.com]
    config: { DB: x }
    secrets: [DB]
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /apps\.api\.domains\[0\]: www\.example\.com is also a domain of app web/,
        ),
        expect.stringMatching(/apps\.api\.config\.DB: DB is listed in secrets too/),
      ]),
    );
  });

  it("needs the states folder for roles", () => {
    expect(problems(`roles:\n  base: [base]\n`)).toEqual([
      expect.stringMatching(/^gantry\.yaml:2: roles\.base: needs converge "states"/),
    ]);
  });
});
