import { describe, expect, it } from "vitest";
import { compile, type CompileInput } from "./compile.js";
import { fakeFacts, fakeSystem, fakeTypes } from "./fake-types.js";
import { loadStates } from "./load.js";
import type { ControlPlane, Plan } from "./types.js";

const types = fakeTypes(fakeSystem());

function plan(files: Record<string, string>, input: Partial<CompileInput> = {}): Promise<Plan> {
  const set = loadStates(files, { types });
  return compile(set, {
    roles: [],
    states: ["web"],
    nodeVars: {},
    extraVars: {},
    facts: fakeFacts,
    types,
    ...input,
  });
}

async function compileError(files: Record<string, string>, input: Partial<CompileInput> = {}) {
  try {
    await plan(files, input);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error("expected a compile error");
}

const lines = (...l: string[]): string => l.join("\n") + "\n";

describe("vars", () => {
  it("takes state defaults < role vars < node vars < extra vars", async () => {
    const files = {
      "top.yaml": lines("web:", "  states: [web]", "  vars: { b: role, c: role, d: role }"),
      "web.yaml": lines(
        "vars: { a: state, b: state, c: state, d: state }",
        "resources:",
        "  - mem: out",
        '    value: "{{ a }} {{ b }} {{ c }} {{ d }}"',
      ),
    };
    const p = await plan(files, {
      roles: ["web"],
      states: [],
      nodeVars: { c: "node", d: "node" },
      extraVars: { d: "extra" },
    });
    expect(p.steps[0]!.props).toEqual({ value: "state role node extra" });
  });

  it("renders vars that use other vars, and facts", async () => {
    const p = await plan({
      "web.yaml": lines(
        "vars:",
        '  url: "http://{{ host }}:{{ port }}/"',
        '  host: "{{ facts.hostname }}"',
        "  port: 80",
        "resources:",
        "  - mem: url",
        '    value: "{{ url }}"',
      ),
    });
    expect(p.steps[0]!.props["value"]).toBe("http://node-1:80/");
  });

  it("names the line of a var that does not render", async () => {
    const message = await compileError({
      "web.yaml": lines(
        "vars:",
        "  port: 80",
        '  url: "http://{{ hots }}:{{ port }}"',
        "resources: []",
      ),
    });
    expect(message).toBe("web.yaml:3: vars.url: hots is undefined (or null)");
  });

  it("names the field of an undefined var", async () => {
    const message = await compileError({
      "web.yaml": lines("resources:", "  - mem: a", '    value: "port={{ prot }}"'),
    });
    expect(message).toMatch(/^web\.yaml:2: resources\[0\]\.value: .*undefined/);
  });
});

describe("forEach and when", () => {
  it("expands lists and maps, keeps a whole {{ var }}'s type and renders ids per item", async () => {
    const p = await plan({
      "web.yaml": lines(
        "vars:",
        "  users: [ann, bob]",
        "  ports: { http: 80, https: 443 }",
        "resources:",
        "  - mem: 'home-{{ item }}'",
        '    forEach: "{{ users }}"',
        "    value: '/home/{{ item }}'",
        "  - mem: 'port-{{ key }}'",
        '    forEach: "{{ ports }}"',
        "    value: '{{ value }}/{{ item.key }}'",
        "  - mem: literal-{{ item }}",
        "    forEach: [1, 2]",
        '    value: "{{ item * 10 }}"',
      ),
    });
    expect(p.steps.map((s) => [s.id, s.props["value"]])).toEqual([
      ["mem:home-ann", "/home/ann"],
      ["mem:home-bob", "/home/bob"],
      ["mem:port-http", "80/http"],
      ["mem:port-https", "443/https"],
      ["mem:literal-1", "10"],
      ["mem:literal-2", "20"],
    ]);
  });

  it("refuses a forEach that is not a list or a map, naming the line", async () => {
    const message = await compileError({
      "web.yaml": lines(
        "vars: { n: 3 }",
        "resources:",
        "  - mem: a",
        '    forEach: "{{ n }}"',
        "    value: x",
      ),
    });
    expect(message).toBe("web.yaml:3: resources[0].forEach: expected a list or a map, got number");
  });

  it("evaluates when on facts and vars, and reports what it skipped", async () => {
    const p = await plan(
      {
        "web.yaml": lines(
          "resources:",
          "  - mem: debian",
          "    value: x",
          '    when: facts.distribution.id == "debian"',
          "  - mem: big",
          "    value: x",
          "    when: facts.cpus > 8",
          "  - mem: listed",
          "    value: x",
          "    when: '{{ extra }}'",
          "  - mem: empty",
          "    value: x",
          "    when: empty",
          "  - mem: unset",
          "    value: x",
          "    when: nosuchvar",
        ),
      },
      { nodeVars: { extra: ["a"], empty: [] } },
    );
    expect(p.steps.map((s) => s.id)).toEqual(["mem:debian", "mem:listed"]);
    expect(p.skipped.map((s) => [s.id, s.reason])).toEqual([
      ["mem:big", "when: facts.cpus > 8"],
      ["mem:empty", "when: empty"],
      ["mem:unset", "when: nosuchvar"],
    ]);
  });

  it("validates rendered values with the type's schema", async () => {
    const message = await compileError(
      { "web.yaml": lines("resources:", "  - mem: a", "    value: x", '    mode: "{{ mode }}"') },
      { extraVars: { mode: "644" } },
    );
    expect(message).toBe('web.yaml:2: resources[0].mode: expected a string like "0644"');
  });
});

describe("references and order", () => {
  it("runs in file order, moving a step after what it requires (stable)", async () => {
    const p = await plan({
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    require: [mem:d]",
        "  - mem: b",
        "    value: x",
        "  - mem: c",
        "    value: x",
        "    onChanges: [a]",
        "  - mem: d",
        "    value: x",
      ),
    });
    expect(p.steps.map((s) => s.id)).toEqual(["mem:b", "mem:d", "mem:a", "mem:c"]);
    // A reference by a unique name resolves to the id.
    expect(p.steps[3]!.onChanges).toEqual(["mem:a"]);
  });

  it("orders states as top.yaml lists them, each once", async () => {
    const p = await plan(
      {
        "top.yaml": lines("web: [base, app]", "api: [base, app, extra]"),
        "base.yaml": lines("resources:", "  - mem: base", "    value: x"),
        "app.yaml": lines("resources:", "  - mem: app", "    value: x", "    require: [mem:base]"),
        "extra.yaml": lines("resources:", "  - mem: extra", "    value: x"),
      },
      { roles: ["web", "api"], states: [] },
    );
    expect(p.steps.map((s) => `${s.state}/${s.id}`)).toEqual([
      "base/mem:base",
      "app/mem:app",
      "extra/mem:extra",
    ]);
  });

  it("names a require cycle", async () => {
    const message = await compileError({
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    require: [mem:c]",
        "  - mem: b",
        "    value: x",
        "    require: [mem:a]",
        "  - mem: c",
        "    value: x",
        "    require: [mem:b]",
      ),
    });
    expect(message).toMatch(/^web\.yaml:\d+: require cycle: /);
    for (const id of ["mem:a", "mem:b", "mem:c"]) expect(message).toContain(id);
    expect(message).toMatch(/(mem:\w) → (mem:\w) → (mem:\w) → \1$/);
  });

  it("reports every bad reference and duplicate id at once", async () => {
    const message = await compileError({
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    require: [mem:nope]",
        "    notify: [mem:b]",
        "  - mem: b",
        "    value: x",
        "    notify: [nohandler]",
        "  - mem: b",
        "    value: y",
        "  - mem: c",
        "    value: z",
        "    require: [mem:aa]",
        "    notify: [restrat]",
        "handlers:",
        "  - run: restart",
      ),
    });
    expect(message.split("\n")).toEqual([
      'web.yaml:6: duplicate id "mem:b" (also at web.yaml:6); give one an `id:`, or use {{ item }} in the id of a forEach'.replace(
        "web.yaml:6: duplicate",
        "web.yaml:9: duplicate",
      ),
      'web.yaml:2: require[0]: no resource "mem:nope" in the states of this run (ids look like directory:/srv/app)',
      'web.yaml:2: notify[0]: "mem:b" is a resource, not a handler (to run it after a change: onChanges on it)',
      'web.yaml:6: notify[0]: no handler "nohandler" — handlers are listed under "handlers:" in a state',
      'web.yaml:11: require[0]: no resource "mem:aa" in the states of this run — did you mean "mem:a"?',
      'web.yaml:11: notify[0]: no handler "restrat" — did you mean "restart"?',
    ]);
  });

  it("finds handlers by id or by name", async () => {
    const p = await plan({
      "web.yaml": lines(
        "resources:",
        "  - mem: a",
        "    value: x",
        "    notify: [restart, run:reload]",
        "handlers:",
        "  - run: restart",
        "  - run: reload",
      ),
    });
    expect(p.steps[0]!.notify).toEqual(["run:restart", "run:reload"]);
    expect([...p.handlers.keys()]).toEqual(["run:restart", "run:reload"]);
  });
});

describe("control plane functions", () => {
  it("is a clear error naming file:line without a control plane", async () => {
    const message = await compileError({
      "web.yaml": lines("resources:", "  - mem: a", "    value: \"{{ key('app/port') }}\""),
    });
    expect(message).toBe(
      "web.yaml:2: resources[0].value: key() needs the control plane: run by an agent (or give the value as a var)",
    );
  });

  it("loads key, service and secret values, and collects secrets to redact", async () => {
    const reads: string[] = [];
    const cp: ControlPlane = {
      key: async (k) => (reads.push(`key ${k}`), k === "app/name" ? "db" : undefined),
      service: async (n) => (
        reads.push(`service ${n}`),
        [{ address: "10.0.0.9", port: 5432, node: "n2", id: `${n}-1` }]
      ),
      secret: async (app, n) => (reads.push(`secret ${app}/${n}`), "s3cr3t"),
      waitFor: async () => {},
      once: async (_s, fn) => (await fn(), true),
    };
    const p = await plan(
      {
        "web.yaml": lines(
          "vars: { dbpass: hunter2 }",
          "secretVars: [dbpass]",
          "resources:",
          "  - mem: conf",
          "    value: \"{{ service(key('app/name'))[0].address }}:{{ service(key('app/name'))[0].port }} {{ secret('shop', 'DB') }} {{ key('missing', 'dflt') }}\"",
        ),
      },
      { controlPlane: cp },
    );
    expect(p.steps[0]!.props["value"]).toBe("10.0.0.9:5432 s3cr3t dflt");
    expect(p.secrets).toEqual(["hunter2", "s3cr3t"]);
    // Each read once, however many passes and uses.
    expect(reads.sort()).toEqual(["key app/name", "key missing", "secret shop/DB", "service db"]);
  });
});
