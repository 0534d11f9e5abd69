import { describe, expect, it } from "vitest";
import { fakeFacts } from "./fake-types.js";
import { checkTemplate, Renderer } from "./render.js";

const renderer = (): Renderer => new Renderer({ facts: fakeFacts, secrets: new Set() });
const vars = { port: 8080, users: ["ann", "bob"], db: { host: "db1", ports: [5432] }, on: true };

describe("Renderer", () => {
  it("renders plain lookups exactly as nunjucks does", async () => {
    const r = renderer();
    for (const text of [
      "port={{ port }}\n",
      "{{ users }} {{ db.host }}:{{ db.ports[0] }} {{ facts.distribution.id }} {{ on }}",
      "{{port}}{{ users[1] }}",
    ]) {
      const viaNunjucks = await r.text(`{% if true %}{% endif %}${text}`, vars);
      expect(await r.text(text, vars)).toBe(viaNunjucks);
    }
  });

  it("keeps the type of a whole {{ expr }}, and renders mixed strings as text", async () => {
    const r = renderer();
    expect(await r.value("{{ users }}", vars)).toEqual(["ann", "bob"]);
    expect(await r.value("{{ port + 1 }}", vars)).toBe(8081);
    expect(await r.value("{{ users | join(',') }}", vars)).toBe("ann,bob");
    expect(await r.value({ a: ["{{ port }}", "x{{ port }}"] }, vars)).toEqual({
      a: [8080, "x8080"],
    });
    expect(await r.value("{{ port }}\n", vars)).toBe("8080\n");
  });

  it("names an undefined var instead of rendering an empty string", async () => {
    const r = renderer();
    await expect(r.value("port={{ prot }}", vars)).rejects.toThrow("prot is undefined");
    await expect(r.value("{{ prot }}", vars)).rejects.toThrow("prot is undefined");
    await expect(r.value("port={{ prot }}", vars)).rejects.toThrow(
      'prot is undefined (or null) — did you mean "port"?',
    );
    await expect(r.text("{% if on %}{{ prot }}{% endif %}", vars)).rejects.toThrow(
      /did you mean "port"\?$/,
    );
    await expect(r.text("a\n{% if on %}{{ db.nope }}{% endif %}", vars)).rejects.toMatchObject({
      message: "db.nope is undefined (or null)",
      line: 2,
    });
  });

  it("judges when: with Jinja's truthiness", async () => {
    const r = renderer();
    expect(await r.test("users", vars)).toBe(true);
    expect(await r.test("{{ port > 9000 }}", vars)).toBe(false);
    expect(await r.test("[]", vars)).toBe(false);
    expect(await r.test("missing", vars)).toBe(false);
    expect(await r.test('facts.init == "sysv"', vars)).toBe(true);
  });

  it("finds syntax errors without rendering", () => {
    expect(checkTemplate("{{ port }}")).toBeUndefined();
    expect(checkTemplate("{% for x in y %}")).toMatch(/^template error: /);
    // A lookup missing a brace is not plain text to copy verbatim.
    expect(checkTemplate("<h1>{{ item.domain }</h1>")).toMatch(/^template error: /);
    expect(checkTemplate("{{ a }} and {{ b")).toMatch(/^template error: /);
    expect(checkTemplate("a\n{{ x | nosuch }}\n", "t.j2")).toBe("t.j2:2: filter not found: nosuch");
  });
});
