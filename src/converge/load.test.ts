import { describe, expect, it } from "vitest";
import { StateErrors } from "./error-list.js";
import { StateError } from "./errors.js";
import { fakeSystem, fakeTypes } from "./fake-types.js";
import { loadStates } from "./load.js";

const types = fakeTypes(fakeSystem());
const load = (files: Record<string, string>, only?: { roles: string[]; states: string[] }) =>
  loadStates(files, only === undefined ? { types } : { types, only });

function errorsOf(files: Record<string, string>): string[] {
  try {
    load(files);
  } catch (err) {
    expect(err).toBeInstanceOf(StateErrors);
    expect((err as StateError).code).toBe("invalid_state");
    return (err as StateErrors).errors.map((e) => e.message);
  }
  throw new Error("expected the states to be refused");
}

describe("loadStates", () => {
  it("reads top.yaml, role vars and a state's resources, handlers and defaults", () => {
    const set = load({
      "top.yaml": "web: [base, app]\ndb:\n  states: [base]\n  vars: { port: 5432 }\n",
      "base.yaml": "resources:\n  - mem: motd\n    value: hi\n",
      "app/init.yaml": [
        "vars:",
        "  port: 8080",
        "secretVars: [token]",
        "resources:",
        "  - mem: conf",
        '    value: "port={{ port }}"',
        "    require: [mem:motd]",
        "    notify: restart",
        "  - run: seed",
        "    id: seed",
        "    onChanges: [{ mem: conf }]",
        "handlers:",
        "  - run: restart",
      ].join("\n"),
      "templates/x.yaml": "not: a state",
    });
    expect(set.top?.roles["web"]?.states).toEqual(["base", "app"]);
    expect(set.top?.roles["db"]).toMatchObject({ states: ["base"], vars: { port: 5432 } });
    expect([...set.states.keys()]).toEqual(["app", "base"]);
    const app = set.states.get("app")!;
    expect(app.vars).toEqual({ port: 8080 });
    expect(app.secretVars).toEqual(["token"]);
    expect(app.resources[0]).toMatchObject({
      type: "mem",
      name: "conf",
      id: "mem:conf",
      props: { value: "port={{ port }}" },
      require: ["mem:motd"],
      notify: ["restart"],
      source: { file: "app/init.yaml", line: 5 },
    });
    expect(app.resources[1]).toMatchObject({ id: "seed", onChanges: ["mem:conf"] });
    expect(app.handlers[0]).toMatchObject({ id: "run:restart", source: { line: 13 } });
  });

  it("names the file, line and field of a schema error", () => {
    const errors = errorsOf({
      "web.yaml": [
        "resources:",
        "  - mem: a",
        "    value: x",
        "  - mem: b",
        "    value: y",
        "    mode: 644",
      ].join("\n"),
    });
    expect(errors).toEqual(["web.yaml:6: resources[1].mode: expected string, received number"]);
  });

  it("uses the type's own messages and knows its fields", () => {
    const errors = errorsOf({
      "web.yaml": [
        "resources:",
        "  - mem: a",
        '    value: "x"',
        '    mode: "rw-r--r--"',
        "    valeu: 1",
      ].join("\n"),
    });
    expect(errors).toEqual([
      'web.yaml:4: resources[0].mode: expected a string like "0644"',
      'web.yaml:5: resources[0].valeu: unknown field for mem — did you mean "value"?',
    ]);
  });

  it("suggests the name meant when one is close, and lists the known ones otherwise", () => {
    const errors = errorsOf({
      "web.yaml": [
        "resources:",
        "  - mme: a",
        "  - mem: b",
        "    value: x",
        "    zzzzz: 1",
        "  - template: /c",
        "    source: templates/sit.j2",
      ].join("\n"),
      "templates/site.j2": "x",
    });
    expect(errors).toEqual([
      'web.yaml:2: resources[0].mme: unknown resource type "mme" — did you mean "mem"?',
      "web.yaml:5: resources[1].zzzzz: unknown field for mem — known: value, source, fail, mode",
      'web.yaml:7: resources[2].source: no file "templates/sit.j2" in the states dir — did you mean "templates/site.j2"?',
    ]);
  });

  it("reports every problem of every file at once, before anything runs", () => {
    const errors = errorsOf({
      "a.yaml": "resources:\n  - fiel: /etc/motd\n    content: hi\n",
      "b.yaml": [
        "resources:",
        "  - template: x",
        "    source: templates/missing.j2",
        "  - mem: y",
        '    value: "{{ port + }}"',
        "  - mem: z",
        "    value: v",
        '    waitFor: { key: app/ready, timeout: "soon" }',
        "handlers:",
        "  - run: h",
        "    require: [mem:x]",
      ].join("\n"),
      "c.yaml": "resources:\n  - mem: a\n    value: [unclosed\n",
    });
    expect(errors).toHaveLength(6);
    expect(errors[0]).toBe(
      'a.yaml:2: resources[0].fiel: unknown resource type "fiel" — known: mem, pkg, run, template' +
        " (the first key of a resource names its type)",
    );
    expect(errors[1]).toBe(
      'b.yaml:3: resources[0].source: no file "templates/missing.j2" in the states dir',
    );
    expect(errors[2]).toMatch(/^b\.yaml:5: resources\[1\]\.value: template error: /);
    expect(errors[3]).toBe(
      'b.yaml:8: resources[2].waitFor.timeout: expected a duration like "30s" or "5m"',
    );
    expect(errors[4]).toBe(
      "b.yaml:11: handlers[0].require: not allowed on a handler: handlers run at the end, in the order notified",
    );
    expect(errors[5]).toMatch(/^c\.yaml:\d: invalid YAML: /);
  });

  it("compiles template sources and names the template's own line", () => {
    const errors = errorsOf({
      "web.yaml": "resources:\n  - template: site\n    source: templates/site.j2\n",
      "templates/site.j2": "server {\n  listen {{ port }};\n  {% if x %}\n}\n",
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^templates\/site\.j2:\d+: .* \(resources\[0\]\.source at web\.yaml:3\)$/,
    );
  });

  it("checks `when` expressions and template filters at load time", () => {
    const errors = errorsOf({
      "web.yaml": [
        "resources:",
        "  - mem: a",
        "    value: x",
        "    when: facts.cpus >",
        "  - mem: b",
        '    value: "{{ name | nosuchfilter }}"',
      ].join("\n"),
    });
    expect(errors[0]).toBe("web.yaml:4: resources[0].when: not a valid expression: facts.cpus >");
    expect(errors[1]).toMatch(/^web\.yaml:6: resources\[1\]\.value: .*nosuchfilter/);
  });

  it("leaves values with {{ }} to compile and validates the rest", () => {
    const set = load({
      "web.yaml": 'resources:\n  - mem: a\n    value: x\n    mode: "{{ mode }}"\n',
    });
    expect(set.states.get("web")!.resources[0]!.props).toEqual({ value: "x", mode: "{{ mode }}" });
  });

  it("loads only what the roles need, and names a missing state", () => {
    const files = {
      "top.yaml": "web: [base, nginx]\n",
      "base.yaml": "resources: []\n",
      "broken.yaml": "resources:\n  - nope: x\n",
    };
    try {
      load(files, { roles: ["web"], states: [] });
      throw new Error("expected an error");
    } catch (err) {
      expect((err as Error).message).toBe(
        'top.yaml:1: state "nginx" not found: no nginx.yaml or nginx/init.yaml',
      );
    }
    expect(() => load(files, { roles: ["db"], states: [] })).toThrow(
      'role "db" is not in top.yaml — known: web',
    );
    expect([...load(files, { roles: [], states: ["base"] }).states.keys()]).toEqual(["base"]);
  });

  it("refuses a malformed top.yaml, naming the role", () => {
    expect(() => load({ "top.yaml": "web: base\n" })).toThrow(
      "top.yaml:1: web: expected a list of state names, like [base, nginx]",
    );
  });
});
