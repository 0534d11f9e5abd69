import { describe, expect, it } from "vitest";
import { bakeIdentity, canonicalJson, statesHash } from "./identity.js";

const files = { "top.yaml": "web:\n  states: [web]\n", "web.yaml": "resources: []\n" };
const inputs = {
  name: "web",
  baseId: "sha256:aaa",
  files,
  role: "web",
  vars: { a: "1", b: { x: 1, y: 2 } },
};

describe("bakeIdentity", () => {
  it("is the same for the same inputs, whatever order the vars and files were given in", () => {
    const again = bakeIdentity({
      name: "web",
      baseId: "sha256:aaa",
      files: { "web.yaml": files["web.yaml"], "top.yaml": files["top.yaml"] },
      role: "web",
      vars: { b: { y: 2, x: 1 }, a: "1" },
    });
    expect(again).toEqual(bakeIdentity(inputs));
    expect(again.key).toMatch(/^[0-9a-f]{64}$/);
    expect(again.short).toBe(again.key.slice(0, 12));
  });

  it("changes with any state file's content, a new file, or a renamed one", () => {
    const key = bakeIdentity(inputs).key;
    const changed = (f: Record<string, string>): string =>
      bakeIdentity({ ...inputs, files: f }).key;
    expect(changed({ ...files, "web.yaml": "resources: [] \n" })).not.toBe(key);
    expect(changed({ ...files, "templates/a.j2": "" })).not.toBe(key);
    expect(changed({ "top.yaml": files["top.yaml"], "web2.yaml": files["web.yaml"] })).not.toBe(
      key,
    );
  });

  it("changes with the base image, the role and every var", () => {
    const key = bakeIdentity(inputs).key;
    expect(bakeIdentity({ ...inputs, baseId: "sha256:bbb" }).key).not.toBe(key);
    expect(bakeIdentity({ ...inputs, role: "db" }).key).not.toBe(key);
    expect(bakeIdentity({ ...inputs, name: "web2" }).key).not.toBe(key);
    expect(bakeIdentity({ ...inputs, vars: { ...inputs.vars, a: "2" } }).key).not.toBe(key);
    expect(bakeIdentity({ ...inputs, vars: { ...inputs.vars, c: "" } }).key).not.toBe(key);
    // A number is not its string: converge sees them differently.
    expect(bakeIdentity({ ...inputs, vars: { ...inputs.vars, a: 1 } }).key).not.toBe(key);
  });

  it("keeps the states hash apart from the rest", () => {
    expect(bakeIdentity({ ...inputs, role: "db" }).statesHash).toBe(
      bakeIdentity(inputs).statesHash,
    );
    expect(bakeIdentity(inputs).statesHash).toBe(statesHash(files));
  });
});

describe("statesHash", () => {
  it("cannot be fooled by moving bytes between a path and its content", () => {
    expect(statesHash({ ab: "c" })).not.toBe(statesHash({ a: "bc" }));
    expect(statesHash({ a: "b", c: "" })).not.toBe(statesHash({ a: "", bc: "" }));
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps arrays in order", () => {
    expect(canonicalJson({ b: [2, { d: 1, c: 0 }], a: null })).toBe(
      '{"a":null,"b":[2,{"c":0,"d":1}]}',
    );
    expect(canonicalJson([3, 1])).not.toBe(canonicalJson([1, 3]));
  });
});
