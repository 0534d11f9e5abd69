import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../client/errors.js";
import type { CommandResult } from "./command.js";
import type { Fetcher } from "./fetch.js";
import { memorySource } from "./memory.js";
import { runTemplates, type RunOptions } from "./runner.js";
import { parseTemplateSpec } from "./spec.js";
import { depId, type Dependency, type ServiceInstance } from "./types.js";

const until = <T>(fn: () => T): Promise<T> => vi.waitFor(fn, { timeout: 5000, interval: 10 });

/** An in-memory API with Consul-style blocking reads: a read with an index waits for a change. */
class FakeApi {
  readonly kv: Record<string, string> = {};
  readonly services: Record<string, ServiceInstance[]> = {};
  revision = 1;
  /** Dependencies with a blocking read in flight. */
  readonly blocked = new Map<string, number>();
  fail: Error | undefined;
  private readonly changes: { rev: number; key?: string; service?: string }[] = [];
  private readonly waiters = new Set<() => void>();

  put(key: string, value: string): void {
    this.kv[key] = value;
    this.changed({ key });
  }

  register(s: ServiceInstance): void {
    (this.services[s.service] ??= []).push(s);
    this.changed({ service: s.service });
  }

  fetch: Fetcher = async (dep, opts = {}) => {
    if (this.fail) throw this.fail;
    const { index, signal } = opts;
    if (index !== undefined) {
      const id = depId(dep);
      this.blocked.set(id, (this.blocked.get(id) ?? 0) + 1);
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (!signal?.aborted && !this.changes.some((c) => c.rev > index && affects(c, dep)))
            return;
          this.waiters.delete(check);
          resolve();
        };
        this.waiters.add(check);
        signal?.addEventListener("abort", check);
        check();
      });
      this.blocked.set(id, this.blocked.get(id)! - 1);
      if (signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
    }
    const src = memorySource({ kv: this.kv, services: this.services });
    const value =
      dep.type === "key"
        ? src.key(dep.key)
        : dep.type === "prefix"
          ? src.tree(dep.prefix)
          : dep.type === "service"
            ? src.service(dep.name)
            : src.services();
    return { value: value as never, index: this.revision };
  };

  private changed(c: { key?: string; service?: string }): void {
    this.changes.push({ rev: ++this.revision, ...c });
    for (const w of [...this.waiters]) w();
  }
}

function affects(c: { key?: string; service?: string }, dep: Dependency): boolean {
  switch (dep.type) {
    case "key":
      return c.key === dep.key;
    case "prefix":
      return c.key?.startsWith(dep.prefix) === true;
    case "service":
      return c.service === dep.name;
    case "services":
      return c.service !== undefined;
  }
}

const instance = (id: string, address: string, port: number): ServiceInstance => ({
  id,
  service: "web",
  node: "n1",
  address,
  port,
  tags: [],
  meta: {},
  status: "passing",
});

function setup(templates: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "gantry-runner-"));
  for (const [name, text] of Object.entries(templates)) writeFileSync(join(dir, name), text);
  const api = new FakeApi();
  const commands: string[][] = [];
  const lines: string[] = [];
  const opts = (specs: string[], extra: Partial<RunOptions> = {}): RunOptions => ({
    specs: specs.map((s) => parseTemplateSpec(s.replaceAll("@", dir + "/"))),
    fetch: api.fetch,
    log: { info: (l) => lines.push(l), warn: (l) => lines.push(`WARN ${l}`) },
    wait: { minMs: 30, maxMs: 200 },
    runCommand: async (argv): Promise<CommandResult> => {
      commands.push(argv);
      return { code: argv[0] === "fail" ? 2 : 0, signal: null, timedOut: false };
    },
    ...extra,
  });
  const file = (name: string): string | undefined =>
    existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : undefined;
  return { dir, api, commands, lines, opts, file };
}

describe("runTemplates --once", () => {
  it("renders every template, runs the commands of changed outputs, and nothing when unchanged", async () => {
    const t = setup({ "a.tmpl": 'port={{ key("app/port") }}', "b.tmpl": "static" });
    t.api.put("app/port", "80");
    await runTemplates(t.opts(["@a.tmpl:@a.out:reload a", "@b.tmpl:@b.out"], { once: true }));
    expect([t.file("a.out"), t.file("b.out")]).toEqual(["port=80", "static"]);
    expect(t.commands).toEqual([["reload", "a"]]);

    await runTemplates(t.opts(["@a.tmpl:@a.out:reload a"], { once: true }));
    expect(t.commands).toHaveLength(1);
    expect(t.lines.at(-1)).toMatch(/a\.out: unchanged$/);
  });

  it("a broken template stops everything before any file is written", async () => {
    const t = setup({ "good.tmpl": "ok", "bad.tmpl": "line1\n{% if %}\n" });
    await expect(
      runTemplates(t.opts(["@good.tmpl:@good.out", "@bad.tmpl:@bad.out"], { once: true })),
    ).rejects.toThrow(/bad\.tmpl:2: /);
    expect([t.file("good.out"), t.file("bad.out")]).toEqual([undefined, undefined]);
  });

  it("a missing key fails naming the key and line, before any file is written", async () => {
    const t = setup({ "a.tmpl": "a", "m.tmpl": 'x\n{{ key("nope") }}' });
    await expect(
      runTemplates(t.opts(["@a.tmpl:@a.out", "@m.tmpl:@m.out"], { once: true })),
    ).rejects.toThrow(/m\.tmpl:2: key "nope" does not exist/);
    expect(t.file("a.out")).toBeUndefined();
  });

  it("a failing command is an error, after the file was written", async () => {
    const t = setup({ "a.tmpl": "a" });
    await expect(runTemplates(t.opts(["@a.tmpl:@a.out:fail now"], { once: true }))).rejects.toThrow(
      /a\.out: command "fail now" exited 2/,
    );
    expect(t.file("a.out")).toBe("a");
  });

  it("loads reads that depend on reads, each dependency once", async () => {
    const t = setup({ "a.tmpl": '{% for s in service(key("svc")) %}{{ s.address }}{% endfor %}' });
    t.api.put("svc", "web");
    t.api.register(instance("w1", "10.0.0.1", 80));
    const fetch = vi.fn(t.api.fetch);
    await runTemplates(t.opts(["@a.tmpl:@a.out"], { once: true, fetch }));
    expect(t.file("a.out")).toBe("10.0.0.1");
    expect(fetch.mock.calls.map(([d]) => depId(d))).toEqual(["key:svc", "service:web"]);
  });
});

describe("runTemplates watching", () => {
  async function watching(t: ReturnType<typeof setup>, specs: string[]) {
    const stop = new AbortController();
    const done = runTemplates(t.opts(specs, { signal: stop.signal }));
    const failed = vi.fn();
    done.catch(failed);
    return {
      done,
      stop: async () => {
        stop.abort();
        await done;
      },
      failed,
    };
  }

  it("re-renders when what it read changes, runs the command only when the output changed", async () => {
    const t = setup({
      "a.tmpl":
        '{{ keyOrDefault("mode", "prod") | upper }}\n{% for s in service("web") %}{{ s.address }}:{{ s.port }}\n{% endfor %}',
    });
    const w = await watching(t, ["@a.tmpl:@a.out:reload"]);
    await until(() => expect(t.file("a.out")).toBe("PROD\n"));
    expect(t.commands).toHaveLength(1);

    t.api.register(instance("w1", "10.0.0.1", 80));
    await until(() => expect(t.file("a.out")).toBe("PROD\n10.0.0.1:80\n"));
    await until(() => expect(t.commands).toHaveLength(2));

    // New data, same output: rendered, but neither written nor followed by the command.
    t.api.put("mode", "Prod");
    await until(() => expect(t.lines.at(-1)).toMatch(/a\.out: unchanged$/));
    expect(t.commands).toHaveLength(2);
    await w.stop();
    expect(w.failed).not.toHaveBeenCalled();
  });

  it("coalesces a burst of changes into one render", async () => {
    const t = setup({ "a.tmpl": '{{ key("n") }}' });
    t.api.put("n", "0");
    const w = await watching(t, ["@a.tmpl:@a.out:reload"]);
    await until(() => expect(t.file("a.out")).toBe("0"));
    for (let i = 1; i <= 5; i++) t.api.put("n", String(i));
    await until(() => expect(t.file("a.out")).toBe("5"));
    await new Promise((r) => setTimeout(r, 100));
    expect(t.commands).toHaveLength(2);
    await w.stop();
  });

  it("waits for a missing key, then renders", async () => {
    const t = setup({ "a.tmpl": '{{ key("later") }}', "b.tmpl": "b" });
    const w = await watching(t, ["@a.tmpl:@a.out", "@b.tmpl:@b.out"]);
    await until(() =>
      expect(t.lines).toContain(`${t.dir}/a.tmpl: waiting for key "later" to exist`),
    );
    await until(() => expect(t.file("b.out")).toBe("b")); // the other template is not held up
    expect(t.file("a.out")).toBeUndefined();
    t.api.put("later", "here");
    await until(() => expect(t.file("a.out")).toBe("here"));
    await w.stop();
  });

  it("stops watching what a template no longer reads", async () => {
    const t = setup({
      "a.tmpl":
        '{% if key("mode") == "x" %}{{ keyOrDefault("x", "") }}{% else %}{{ keyOrDefault("y", "") }}{% endif %}',
    });
    t.api.put("mode", "x");
    const w = await watching(t, ["@a.tmpl:@a.out"]);
    await until(() => expect(t.api.blocked.get("key:x")).toBe(1));
    t.api.put("mode", "y");
    await until(() => expect(t.api.blocked.get("key:y")).toBe(1));
    await until(() => expect(t.api.blocked.get("key:x")).toBe(0));
    await w.stop();
    expect([...t.api.blocked.values()].every((n) => n === 0)).toBe(true);
  });

  it("a render error at start is fatal; later it is logged and the file kept", async () => {
    const t = setup({ "a.tmpl": "{{ nope() }}" });
    await expect(runTemplates(t.opts(["@a.tmpl:@a.out"]))).rejects.toThrow(
      /a\.tmpl:1: Unable to call `nope`/,
    );

    const t2 = setup({ "a.tmpl": '{{ service(key("v")) | length }} {{ key("v") }}' });
    t2.api.put("v", "web");
    const w = await watching(t2, ["@a.tmpl:@a.out"]);
    await until(() => expect(t2.file("a.out")).toBe("0 web"));
    t2.api.put("v", ""); // service("") is an error
    await until(() =>
      expect(t2.lines.some((l) => /^WARN .*a\.out kept as it was/.test(l))).toBe(true),
    );
    expect(t2.lines.some((l) => /a\.tmpl:1: service\(\) needs a non-empty name/.test(l))).toBe(
      true,
    );
    expect(t2.file("a.out")).toBe("0 web");
    t2.api.put("v", "db"); // and it recovers
    await until(() => expect(t2.file("a.out")).toBe("0 db"));
    await w.stop();
    expect(w.failed).not.toHaveBeenCalled();
  });

  it("an error retrying cannot fix (a refused token) stops it with that error", async () => {
    const t = setup({ "a.tmpl": '{{ key("k") }}' });
    t.api.fail = new ApiError(403, "forbidden", 'this token may not read kv "k"');
    await expect(runTemplates(t.opts(["@a.tmpl:@a.out"]))).rejects.toThrow(/may not read kv "k"/);
  });
});
