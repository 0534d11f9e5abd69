import { describe, expect, it } from "vitest";
import { SpecLoadError } from "./errors.js";
import { defaultRegistry } from "./kinds/index.js";
import { parseStack } from "./load.js";
import { testRegistry } from "./test-kinds.js";

const load = (text: string, env: Record<string, string> = {}) =>
  parseStack("/stack", text, testRegistry(), { env });

/** The problem lines of a stack that does not load. */
function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    load(text, env);
  } catch (err) {
    if (err instanceof SpecLoadError) return err.message.split("\n").slice(1);
    throw err;
  }
  throw new Error("the stack loaded");
}

describe("loading gantry.yaml", () => {
  it("reads settings, items, protect/drift overrides and owned prefixes", () => {
    const s = load(`stack:
  name: shop
  prune: true
things:
  web: { size: 2, protect: true, drift: off }
  api: {}
thingPrefixes: [svc/]
`);
    expect(s.settings).toEqual({ name: "shop", drift: "warn", prune: true });
    expect(s.items.map((i) => [i.kind, i.name, i.spec, i.protect, i.drift])).toEqual([
      ["thing", "web", { size: 2, zone: "a", uses: [] }, true, "off"],
      ["thing", "api", { size: 1, zone: "a", uses: [] }, undefined, undefined],
    ]);
    expect(s.items[1]!.at).toBe("gantry.yaml:6");
    expect(s.prefixes.get("thing")).toEqual(["svc/"]);
  });

  it("defaults: stack named default, drift warn, no prune; an empty file is an empty stack", () => {
    expect(load("").settings).toEqual({ name: "default", drift: "warn", prune: false });
    expect(load("").items).toEqual([]);
  });

  it("interpolates ${var.X} and ${env.X} in values, keeping a lone variable's type", () => {
    const s = load(
      `vars:
  size: 3
  zone: eu-\${env.REGION}
things:
  web:
    size: \${var.size}
    zone: \${var.zone}
    secret: "$\${not.a.var} \${env.TOKEN}"
`,
      { REGION: "west", TOKEN: "t0k" },
    );
    expect(s.items[0]!.spec).toEqual({
      size: 3,
      zone: "eu-west",
      secret: "${not.a.var} t0k",
      uses: [],
    });
  });

  it("reports every problem at once as file:line: path: message, in line order", () => {
    expect(
      problems(`stack:
  drift: sometimes
  prnue: true
vars:
  zone: a
things:
  web:
    sise: 2
    zone: \${var.zoen}
  api:
    size: many
    secret: \${env.NOPE}
thigns: {}
`),
    ).toEqual([
      "gantry.yaml:2: stack.drift: must be one of correct, warn, off",
      'gantry.yaml:3: stack.prnue: unknown field — did you mean "prune"?',
      'gantry.yaml:8: things.web.sise: unknown field — did you mean "size"?',
      'gantry.yaml:9: things.web.zone: undefined variable "var.zoen" — did you mean "zone"?',
      'gantry.yaml:11: things.api.size: expected a number, got "many"',
      'gantry.yaml:12: things.api.secret: environment variable "NOPE" is not set (${env.NOPE})',
      'gantry.yaml:13: thigns: unknown section — did you mean "things"?',
    ]);
  });

  it("names schema problems inside an item with their line", () => {
    expect(problems("things:\n  web:\n    size: -1\n    protect: maybe\n")).toEqual([
      "gantry.yaml:3: things.web.size: Too small: expected number to be >=0",
      "gantry.yaml:4: things.web.protect: must be true or false",
    ]);
    expect(problems("things:\n  web:\n    uses: nett\n")).toEqual([
      'gantry.yaml:3: things.web.uses: expected a list, got "nett"',
    ]);
  });

  it("checks references and kinds' own checks before anything changes", () => {
    expect(
      problems(`bases:
  net: { cidr: 10.0.0.0/8 }
things:
  web: { uses: [nett] }
  big: { size: 1000 }
`),
    ).toEqual([
      'gantry.yaml:4: things.web: needs base "nett", which the stack does not define — did you mean "net"?',
      "gantry.yaml:5: things.big.size: at most 100",
    ]);
  });

  it("refuses a reference cycle", () => {
    expect(problems("things:\n  a: { uses: [thing:b] }\n  b: { uses: [thing:a] }\n")).toEqual([
      "gantry.yaml:2: things.a: depends on itself: thing/a → thing/b → thing/a",
    ]);
  });

  it("reports invalid YAML with its line and loads nothing", () => {
    expect(problems("things:\n  web: [1, 2\n  api: {}\n")[0]).toMatch(
      /^gantry\.yaml:\d: invalid YAML: /,
    );
    expect(problems("things:\n  web: {}\n  web: {}\n")).toEqual([
      "gantry.yaml:3: invalid YAML: Map keys must be unique",
    ]);
  });

  it("knows the default kinds' sections, kvPrefixes included", () => {
    const s = parseStack(
      "/stack",
      `kv:
  app/port: 8080
  app/pw: { value: x, sensitive: true, protect: true }
kvPrefixes: [app/]
tokens:
  ci: { policies: ["kv:app/:read"] }
services:
  db: { node: n1, address: 10.0.0.5, port: 5432 }
`,
      defaultRegistry(),
      { env: {} },
    );
    expect(s.items.map((i) => `${i.kind}/${i.name}`)).toEqual([
      "kv/app/port",
      "kv/app/pw",
      "token/ci",
      "service/db",
    ]);
    expect(s.items[0]!.spec).toEqual({ value: "8080", sensitive: false });
    expect(s.items[1]!.protect).toBe(true);
    expect(s.items[2]!.spec).toEqual({
      policies: [{ resource: "kv", prefix: "app/", access: "read" }],
    });
  });

  it("words the default kinds' errors for people", () => {
    let lines: string[] = [];
    try {
      parseStack(
        "/stack",
        `kv:
  app/list: [1, 2]
tokens:
  ci: { policies: ["kv:app/:sometimes"] }
services:
  db: { node: n1, address: 10.0.0.5, prot: 5432 }
  Bad_Name: { node: n1, address: 10.0.0.5, port: 1 }
`,
        defaultRegistry(),
        { env: {} },
      );
    } catch (err) {
      lines = (err as Error).message.split("\n").slice(1);
    }
    expect(lines).toEqual([
      "gantry.yaml:2: kv.app/list: expected a string, a number, true/false or a map, got a list",
      'gantry.yaml:4: tokens.ci.policies[0]: access must be read, deploy or write in "kv:app/:sometimes"',
      "gantry.yaml:6: services.db.port: is required (a number)",
      'gantry.yaml:6: services.db.prot: unknown field — did you mean "port"?',
      "gantry.yaml:7: services.Bad_Name: the service name must be lower-case letters, digits and inner dashes (a DNS label), at most 63 characters",
    ]);
  });
});
