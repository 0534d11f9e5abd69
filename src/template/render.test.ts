import { describe, expect, it } from "vitest";
import { memorySource } from "./memory.js";
import { compileTemplate, MissingKeyError, renderTemplate, TemplateError } from "./render.js";
import { PENDING, type DataSource, type ServiceInstance } from "./types.js";

const web = (id: string, address: string, port: number, tags: string[] = []): ServiceInstance => ({
  id,
  service: "web",
  node: "n1",
  address,
  port,
  tags,
  meta: {},
  status: "passing",
});

const data = memorySource({
  kv: {
    "app/port": "8080",
    "app/name": "demo",
    "app/env/A": "1",
    "app/env/B": "2",
    "app/env/deep/C": "3",
    apple: "no",
  },
  services: {
    web: [web("w1", "10.0.0.1", 80, ["blue"]), web("w2", "10.0.0.2", 81, ["green"])],
    db: [],
  },
});

const render = (text: string, source: DataSource = data, file = "t.tmpl") =>
  renderTemplate(compileTemplate(text, file), source);

describe("template functions", () => {
  it("key reads a value and keyOrDefault falls back when the key is absent", () => {
    const r = render(
      '{{ key("app/port") }} {{ keyOrDefault("app/x", "d") }} {{ keyOrDefault("app/name", "d") }}',
    );
    expect(r.output).toBe("8080 d demo");
  });

  it("ls gives the direct children with keys relative to the prefix; tree gives all of them", () => {
    const ls = render('{% for kv in ls("app/env") %}{{ kv.key }}={{ kv.value }};{% endfor %}');
    expect(ls.output).toBe("A=1;B=2;");
    const tree = render(
      '{% for kv in tree("app/env/") %}{{ kv.key }}={{ kv.value }}@{{ kv.path }};{% endfor %}',
    );
    expect(tree.output).toBe("A=1@app/env/A;B=2@app/env/B;deep/C=3@app/env/deep/C;");
  });

  it("a prefix without a slash does not match its siblings (app is not apple)", () => {
    expect(render('{% for kv in ls("app") %}{{ kv.key }} {% endfor %}').output).toBe("name port ");
  });

  it("service gives the instances and services the names with their tags", () => {
    const r = render(
      '{% for s in service("web") %}server {{ s.address }}:{{ s.port }};{% endfor %}|' +
        '{% for s in services() %}{{ s.name }}[{{ s.tags | join(",") }}] {% endfor %}',
    );
    expect(r.output).toBe("server 10.0.0.1:80;server 10.0.0.2:81;|db[] web[blue,green] ");
  });

  it("does not escape HTML: the output is a config file", () => {
    const src = memorySource({ kv: { v: "<a & 'b'>" } });
    expect(render('{{ key("v") }}', src).output).toBe("<a & 'b'>");
  });

  it("block tags on lines of their own leave no blank lines", () => {
    const text =
      'upstream web {\n{% for s in service("web") %}\n  server {{ s.address }};\n{% endfor %}\n}\n';
    expect(render(text).output).toBe("upstream web {\n  server 10.0.0.1;\n  server 10.0.0.2;\n}\n");
  });
});

describe("dependency recording", () => {
  it("records each thing read once, ls and tree of one prefix as one dependency", () => {
    const r = render(
      '{{ key("app/port") }}{{ key("app/port") }}{{ keyOrDefault("app/x", 1) }}' +
        '{{ ls("app/env/") | length }}{{ tree("app/env") | length }}{{ service("web") | length }}{{ services() | length }}',
    );
    expect(r.deps).toEqual([
      { type: "key", key: "app/port" },
      { type: "key", key: "app/x" },
      { type: "prefix", prefix: "app/env/" },
      { type: "service", name: "web" },
      { type: "services" },
    ]);
    expect(r.pending).toEqual([]);
  });

  it("records only the branch taken", () => {
    const r = render('{% if key("app/name") == "other" %}{{ service("web") }}{% endif %}');
    expect(r.deps).toEqual([{ type: "key", key: "app/name" }]);
  });

  it("renders values not loaded yet as empty and reports them pending", () => {
    const loaded = new Map<string, string>([["svc", "web"]]);
    const partial: DataSource = {
      key: (k) => (loaded.has(k) ? loaded.get(k) : PENDING),
      tree: () => PENDING,
      service: () => PENDING,
      services: () => PENDING,
    };
    const r = render(
      'a{{ key("x") }}b{% for s in service(key("svc")) %}x{% endfor %}{{ ls("p") | length }}',
      partial,
    );
    expect(r.output).toBe("ab0");
    expect(r.pending).toEqual([
      { type: "key", key: "x" },
      { type: "service", name: "web" },
      { type: "prefix", prefix: "p/" },
    ]);
  });

  it("does not ask for a service named by a placeholder while a key is pending", () => {
    const partial: DataSource = { ...data, key: () => PENDING };
    const r = render('{{ service(key("svc")) | length }}', partial);
    expect(r.deps).toEqual([{ type: "key", key: "svc" }]);
  });
});

describe("errors", () => {
  it("a template that does not compile names the file and line", () => {
    const text = "a\nb\n{% for x in y %}\n{{ x }\n";
    expect(() => compileTemplate(text, "in.tmpl")).toThrow(TemplateError);
    expect(() => compileTemplate(text, "in.tmpl")).toThrow(/^in\.tmpl:4: expected variable end/);
    expect(() => compileTemplate("x\n\n{% endfor %}", "b.tmpl")).toThrow(
      /^b\.tmpl:3: unknown block tag: endfor$/,
    );
  });

  it("an error found at the end of the text points at its last line", () => {
    expect(() => compileTemplate("a\n{% for x in y %}\n  x\n\n", "e.tmpl")).toThrow(
      /^e\.tmpl:3: unexpected end of file \(a \{% for %\} or \{% if %\} not closed\?\)$/,
    );
    expect(() => compileTemplate("x\n{{ 'abc }}", "s.tmpl")).toThrow(
      /^s\.tmpl:2: expected variable end$/,
    );
  });

  it("an unknown filter fails at compile time on its line, even in a branch not taken", () => {
    expect(() => compileTemplate("ok\n{{ 1 | nosuch }}", "f.tmpl")).toThrow(
      /^f\.tmpl:2: filter not found: nosuch$/,
    );
    expect(() =>
      compileTemplate("{% if false %}\n\n{{ 1 | upper | nosuch }}{% endif %}", "f.tmpl"),
    ).toThrow(/^f\.tmpl:3: filter not found: nosuch$/);
    expect(compileTemplate("{{ 'a' | upper | default('x') }}", "ok.tmpl").file).toBe("ok.tmpl");
  });

  it("a render error names the line it happened on (1-based)", () => {
    expect(() => render("one\ntwo\n  {{ nope() }}", data, "r.tmpl")).toThrow(
      /^r\.tmpl:3: Unable to call `nope`/,
    );
    expect(() => render("{{ key(1) }}", data, "r.tmpl")).toThrow(
      /^r\.tmpl:1: key\(\) needs a string/,
    );
  });

  it("a missing key is an error naming the key and line, unless asked to wait", () => {
    const tpl = compileTemplate('x\n{{ key("app/nope") }}{{ key("app/port") }}', "m.tmpl");
    let caught: unknown;
    try {
      renderTemplate(tpl, data);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(MissingKeyError);
    expect((caught as MissingKeyError).key).toBe("app/nope");
    expect((caught as Error).message).toBe('m.tmpl:2: key "app/nope" does not exist');

    const waiting = renderTemplate(tpl, data, { missingKeys: "wait" });
    expect(waiting.missingKeys).toEqual(["app/nope"]);
    expect(waiting.output).toBe("x\n8080");
    expect(waiting.deps).toContainEqual({ type: "key", key: "app/nope" });
  });

  it("include has no loader: a clear error rather than reading files", () => {
    expect(() => render('{% include "other.tmpl" %}', data, "i.tmpl")).toThrow(
      /^i\.tmpl:1: template not found: other\.tmpl$/,
    );
  });
});
