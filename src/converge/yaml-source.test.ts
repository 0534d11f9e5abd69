import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { YamlSource } from "./yaml-source.js";

const STATE = `vars:
  port: 8080
  mode: "0644"
  flags: [yes, no, ~, 0644, 0o17, 1e3, .inf, 2020-01-01]
resources:
  - file: /etc/app.conf
    content: |
      port={{ port }}
    mode: "0600"
  - exec: seed
    command: ["/bin/true"]
`;

describe("YamlSource", () => {
  it("reads the same value as the yaml package (YAML 1.2 core schema)", () => {
    const texts = [
      STATE,
      "",
      "# only a comment\n",
      "a: 'x'\nb: \"y\\n\"\nc: >\n  folded\n  text\n",
      "- a\n- b: c\n",
      "x: &a [1, 2]\ny: *a\n", // the full parser's path
      "n: 0b101\n",
    ];
    for (const text of texts) {
      expect(new YamlSource("s.yaml", text).value).toEqual(parseDocument(text).toJS() ?? null);
    }
  });

  it("finds lines only when asked, and finds the right ones", () => {
    const y = new YamlSource("web.yaml", STATE);
    expect(y.ref(["resources", 1, "command"]).line).toBe(11);
    expect(y.ref(["resources", 0, "mode"]).line).toBe(9);
    // A missing field: its nearest parent.
    expect(y.ref(["resources", 1, "nope"]).line).toBe(10);
    expect(y.error(["vars", "port"], "bad").message).toBe("web.yaml:2: vars.port: bad");
  });

  it("reports invalid YAML with its line, and no value", () => {
    const y = new YamlSource("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n");
    expect(y.value).toBeUndefined();
    expect(y.errors[0]?.message).toMatch(/^bad\.yaml:\d+: invalid YAML: /);
    const dup = new YamlSource("dup.yaml", "a: 1\na: 2\n");
    expect(dup.errors[0]?.message).toBe("dup.yaml:2: invalid YAML: Map keys must be unique");
  });
});
