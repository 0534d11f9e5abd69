/**
 * `gantry template` as users run it: a real `gantry up`, the CLI as real processes, and a
 * command that leaves a mark each time it runs.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { GANTRY_BIN, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";

let g: GantryProcess;
let dir: string;
const children = new Set<ChildProcess>();

const path = (name: string): string => join(dir, name);
const read = (name: string): string | undefined =>
  existsSync(path(name)) ? readFileSync(path(name), "utf8") : undefined;
const marks = (name: string): string[] => (read(name) ?? "").split("\n").filter(Boolean);
/** A COMMAND that appends `label` to the marker file `name` (no shell involved). */
const mark = (name: string, label: string): string =>
  `'${process.execPath}' '${path("mark.cjs")}' '${path(name)}' ${label}`;

/** Start `gantry template …` as a long-running process. */
function template(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [GANTRY_BIN, "template", ...args], {
    env: { ...process.env, NO_COLOR: "1", ...g.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
}

async function register(body: object): Promise<void> {
  const res = await fetch(`${g.url}/v1/catalog/register`, {
    method: "PUT",
    headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** vi.waitFor with room for a busy two-core machine. */
const until = <T>(fn: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(fn, { timeout: 15_000, interval: 50 });

/** The node of `gantry up`'s built-in agent. */
async function localNode(): Promise<string> {
  return until(async () => {
    const res = await fetch(`${g.url}/v1/nodes`, {
      headers: { authorization: `Bearer ${g.token}` },
    });
    const nodes = (await res.json()) as { name: string }[];
    expect(nodes).toHaveLength(1);
    return nodes[0]!.name;
  });
}

async function ttl(check: string, action: "pass" | "fail"): Promise<void> {
  const res = await fetch(`${g.url}/v1/checks/${check}/${action}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${g.token}` },
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

const kvPut = async (key: string, value: string): Promise<void> => {
  const r = await g.cli(["kv", "put", key, value]);
  expect(r.code, r.stderr).toBe(0);
};

/** `gantry up` (embedded store) or `gantry server` on a real etcd, with a few keys and a fresh dir. */
function withServer(backend: "embedded" | "etcd"): void {
  let etcd: EtcdServer | undefined;
  beforeAll(async () => {
    if (backend === "etcd") {
      etcd = await startEtcd();
      const hosts = etcd.endpoints.map((u) => u.replace(/^https?:\/\//, ""));
      g = await startGantry({ mode: "server", store: `etcd://${hosts.join(",")}` });
    } else g = await startGantry();
    dir = mkdtempSync(join(tmpdir(), "gantry-template-"));
    writeFileSync(
      path("mark.cjs"),
      "require('node:fs').appendFileSync(process.argv[2], process.argv[3] + '\\n');\n",
    );
    await kvPut("app/name", "demo");
    await kvPut("app/env/A", "1");
    await kvPut("app/env/B", "2");
  });

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await g?.cleanup();
    await etcd?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
}

describe.each(["embedded", "etcd"] as const)("gantry template watching (%s store)", (backend) => {
  withServer(backend);

  it("re-renders and runs its command once when an instance appears; not when the output is the same", async () => {
    writeFileSync(
      path("web.tmpl"),
      [
        '# {{ key("app/name") }} ({{ keyOrDefault("app/mode", "prod") | upper }})',
        "upstream web {",
        '{% for s in service("web") %}',
        "  server {{ s.address }}:{{ s.port }};",
        "{% endfor %}",
        "}",
        "",
      ].join("\n"),
    );
    writeFileSync(
      path("env.tmpl"),
      '{% for kv in ls("app/env") %}{{ kv.key }}={{ kv.value }}\n{% endfor %}',
    );
    writeFileSync(path("later.tmpl"), 'later={{ key("app/later") }}');

    const t = template([
      `${path("web.tmpl")}:${path("web.conf")}:${mark("web.marks", "reloaded")}`,
      `${path("env.tmpl")}:${path("app.env")}`,
      `${path("later.tmpl")}:${path("later.txt")}`,
      "--wait",
      "50ms:500ms",
    ]);

    await until(() => expect(read("web.conf")).toBe("# demo (PROD)\nupstream web {\n}\n"));
    await until(() => expect(read("app.env")).toBe("A=1\nB=2\n"));
    await until(() => expect(marks("web.marks")).toEqual(["reloaded"]));
    await until(() => expect(t.output()).toContain('waiting for key "app/later" to exist'));
    expect(read("later.txt")).toBeUndefined();

    // An instance registers: the file is rewritten and the command runs exactly once more.
    await register({ service: "web", id: "web-1", node: "n1", address: "10.0.0.5", port: 8080 });
    await until(() =>
      expect(read("web.conf")).toBe("# demo (PROD)\nupstream web {\n  server 10.0.0.5:8080;\n}\n"),
    );
    await until(() => expect(marks("web.marks")).toEqual(["reloaded", "reloaded"]));
    expect(t.output()).toMatch(/web\.conf: command ".*" exited 0/);

    // New data, same output: rendered, but the file is not touched and the command does not run.
    const before = statSync(path("web.conf"));
    const unchanged = (): number => t.output().split("web.conf: unchanged").length - 1;
    const seen = unchanged();
    await kvPut("app/mode", "Prod");
    await until(() => expect(unchanged()).toBe(seen + 1));
    await new Promise((r) => setTimeout(r, 300));
    const after = statSync(path("web.conf"));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    expect(marks("web.marks")).toEqual(["reloaded", "reloaded"]);

    // Health decides: service() lists passing instances only. TTL checks run where an agent
    // runs them: on `gantry up`'s own node.
    let runs = 2;
    if (backend === "embedded") {
      const node = await localNode();
      await register({
        service: "web",
        id: "web-2",
        node,
        address: "10.0.0.6",
        port: 8080,
        checks: [{ type: "ttl", id: "alive", ttl: "60s" }],
      });
      await ttl("web/web-2/alive", "pass");
      await until(() => expect(read("web.conf")).toContain("server 10.0.0.6:8080;"));
      await until(() => expect(marks("web.marks")).toHaveLength(3));
      await ttl("web/web-2/alive", "fail");
      await until(() => expect(read("web.conf")).not.toContain("10.0.0.6"));
      await until(() => expect(marks("web.marks")).toHaveLength(4));
      runs = 4;
    }

    // The key it was waiting for appears; a key it lists changes.
    await kvPut("app/later", "now");
    await kvPut("app/env/C", "3");
    await until(() => expect(read("later.txt")).toBe("later=now"));
    await until(() => expect(read("app.env")).toBe("A=1\nB=2\nC=3\n"));
    expect(marks("web.marks")).toHaveLength(runs);

    t.child.kill("SIGTERM");
    expect(await exited(t.child)).toEqual({ code: 0, signal: null });
  });
});

describe("gantry template errors", () => {
  withServer("embedded");

  it("a template that does not compile exits non-zero naming the file and line, writing nothing", async () => {
    writeFileSync(path("ok.tmpl"), "fine\n");
    writeFileSync(
      path("bad.tmpl"),
      'upstream web {\n{% for s in service("web") %}\n  server {{ s.address };\n',
    );
    const t = template([
      `${path("ok.tmpl")}:${path("ok.out")}`,
      `${path("bad.tmpl")}:${path("bad.out")}`,
    ]);
    const res = await exited(t.child);
    expect(res.code).toBe(1);
    expect(t.output()).toContain(`gantry: ${path("bad.tmpl")}:3: expected variable end`);
    expect([read("ok.out"), read("bad.out")]).toEqual([undefined, undefined]);
  });
});

describe("gantry template --once", () => {
  withServer("embedded");

  it("renders, runs the command, exits 0; the second run changes nothing and runs nothing", async () => {
    writeFileSync(
      path("once.tmpl"),
      'name={{ key("app/name") }}\n{% for s in service("web") %}{{ s.id }}\n{% endfor %}',
    );
    await register({ service: "web", id: "web-1", node: "n1", address: "10.0.0.5", port: 8080 });
    const spec = `${path("once.tmpl")}:${path("once.out")}:${mark("once.marks", "ran")}`;
    const first = await g.cli(["template", spec, "--once"]);
    expect(first.code, first.stderr).toBe(0);
    expect(read("once.out")).toBe("name=demo\nweb-1\n");
    expect(marks("once.marks")).toEqual(["ran"]);
    expect(first.stdout).toContain("once.out: rendered from");

    const second = await g.cli(["template", spec, "--once"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("once.out: unchanged");
    expect(marks("once.marks")).toEqual(["ran"]);
  });

  it("fails naming the file, line and key when a key does not exist, writing nothing", async () => {
    writeFileSync(path("missing.tmpl"), 'a\nb={{ key("app/nope") }}\n');
    const r = await g.cli(["template", `${path("missing.tmpl")}:${path("missing.out")}`, "--once"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`gantry: ${path("missing.tmpl")}:2: key "app/nope" does not exist`);
    expect(read("missing.out")).toBeUndefined();
  });

  it("says so in one line when the server cannot be reached", async () => {
    writeFileSync(path("k.tmpl"), '{{ key("x") }}');
    const addr = `http://127.0.0.1:${await freePort()}`;
    const r = await g.cli(["template", `${path("k.tmpl")}:${path("k.out")}`, "--once"], {
      env: { GANTRY_ADDR: addr },
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `gantry: cannot reach Gantry at ${addr} — is "gantry up" running?`,
    );
  });
});
