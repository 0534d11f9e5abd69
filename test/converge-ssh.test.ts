/**
 * `gantry converge --inventory` against real sshd hosts on loopback (test/helpers/converge-ssh.ts):
 * check and apply with merged vars, an unreachable host, bad input, and time limits (the ssh
 * transport itself is in test/converge-ssh-transport.test.ts).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inventoryOptions } from "../src/converge/ssh/cli-options.js";
import { convergeInventory, type InventoryRunOptions } from "../src/converge/ssh/cli.js";
import { runnerPath } from "../src/converge/ssh/remote.js";
import { bundle, capture, dir, ssh, sshSection, useSshHosts } from "./helpers/converge-ssh.js";
import { alive, eventually } from "./helpers/paas.js";
import { inventorySshSection } from "./helpers/sshd.js";

useSshHosts();

describe("gantry converge --inventory", () => {
  let states: string;
  let inventory: string;
  const root = (h: string): string => join(dir, "roots", h);

  beforeAll(() => {
    states = join(dir, "states");
    mkdirSync(states, { recursive: true });
    writeFileSync(join(states, "top.yaml"), "app: [app]\n");
    writeFileSync(
      join(states, "app.yaml"),
      [
        "resources:",
        '  - file: "{{ root }}/motd"',
        '    content: "{{ motd }} from {{ env }}/{{ tier }}\\n"',
        '    mode: "0640"',
        "    makeDirs: true",
        '  - file: "{{ root }}/host"',
        '    content: "label={{ host_label }}\\n"',
        "    makeDirs: true",
        "",
      ].join("\n"),
    );
    const [a, b, c] = ssh.hosts;
    inventory = join(dir, "inventory.yaml");
    writeFileSync(
      inventory,
      [
        sshSection(),
        "hosts:",
        `  web1: { address: ${a!.address}, port: ${a!.port}, vars: { root: ${root("web1")}, host_label: one } }`,
        `  web2: { address: ${b!.address}, port: ${b!.port}, become: true, vars: { root: ${root("web2")}, host_label: two } }`,
        `  db1: { address: ${c!.address}, port: ${c!.port}, vars: { root: ${root("db1")}, host_label: three, motd: db only } }`,
        "groups:",
        "  web: { hosts: [web1, web2], roles: [app], vars: { tier: web } }",
        "  db: { hosts: [db1], roles: [app], vars: { tier: db } }",
        '  prod: { children: [web, db], vars: { env: prod, tier: none, motd: "hello" } }',
        "",
      ].join("\n"),
    );
  });

  const opts = (o: Partial<InventoryRunOptions> = {}): InventoryRunOptions =>
    inventoryOptions(inventory, states, { json: true, forks: 10, ...o });

  async function converge(o: Partial<InventoryRunOptions> = {}) {
    const out = capture();
    const code = await convergeInventory(opts(o), out, { runnerBundle: bundle });
    const parsed =
      o.json === false ? undefined : (JSON.parse(out.stdout.join("\n")) as Record<string, never>);
    return { code, out, json: parsed as unknown as InventoryJson };
  }

  interface InventoryJson {
    hosts: Record<
      string,
      { summary?: { changed: number; ok: number }; unreachable?: string; failed?: string }
    >;
    summary: { hosts: number; changed: number; failed: number; unreachable: number };
    runner: { hash: string; uploaded: string[] };
  }

  it("check mode reports the changes, writes nothing, and uploads the runner to every host", async () => {
    const r = await converge({ check: true });
    expect(r.code).toBe(0);
    expect(r.json.summary).toMatchObject({ hosts: 3, changed: 6, failed: 0, unreachable: 0 });
    for (const h of ["web1", "web2", "db1"]) expect(r.json.hosts[h]!.summary!.changed).toBe(2);
    expect(r.json.runner.uploaded.sort()).toEqual(["db1", "web1", "web2"]);
    for (const h of ["web1", "web2", "db1"]) expect(existsSync(root(h))).toBe(false);
    for (const host of ssh.hosts.slice(0, 3)) {
      expect(existsSync(join(host.home, runnerPath(r.json.runner.hash)))).toBe(true);
    }
  });

  it("applies with each host's merged vars, then a second run changes nothing and uploads nothing", async () => {
    const first = await converge();
    expect(first.code).toBe(0);
    expect(first.json.summary).toMatchObject({ changed: 6, failed: 0 });
    expect(first.json.runner.uploaded).toEqual([]);
    expect(readFileSync(join(root("web1"), "motd"), "utf8")).toBe("hello from prod/web\n");
    expect(readFileSync(join(root("web2"), "motd"), "utf8")).toBe("hello from prod/web\n");
    expect(readFileSync(join(root("db1"), "motd"), "utf8")).toBe("db only from prod/db\n");
    expect(readFileSync(join(root("db1"), "host"), "utf8")).toBe("label=three\n");

    const second = await converge();
    expect(second.code).toBe(0);
    expect(second.json.summary).toMatchObject({ changed: 0, failed: 0, hosts: 3 });
    expect(second.json.runner.uploaded).toEqual([]);
  });

  it("reports a stopped host as unreachable with exit 2 while the others converge", async () => {
    writeFileSync(join(root("web1"), "motd"), "drifted\n");
    await ssh.hosts[2]!.stop();
    try {
      const r = await converge({ json: false });
      expect(r.code).toBe(2);
      expect(r.out.stderr.join("\n")).toMatch(/^db1: unreachable: .*Connection refused/m);
      const text = r.out.stdout.join("\n");
      expect(text).toContain("web1: file:");
      expect(text).toMatch(/^web1: file:\S+\/motd changed/m);
      expect(text).toMatch(/^HOST\s+OK\s+CHANGED\s+FAILED\s+SKIPPED\s+UNREACHABLE$/m);
      expect(text).toMatch(/^web1\s+1\s+1\s+0\s+0\s+0$/m);
      expect(text).toMatch(/^db1\s+0\s+0\s+0\s+0\s+1$/m);
      expect(text).toMatch(/3 hosts: 3 ok, 1 changed, 0 failed, 0 skipped, 1 unreachable/);
      expect(readFileSync(join(root("web1"), "motd"), "utf8")).toBe("hello from prod/web\n");
    } finally {
      await ssh.hosts[2]!.start();
    }
  });

  it("limits to hosts with a role, and refuses bad input before touching any host", async () => {
    const none = await converge({ roles: ["nope"], json: false });
    expect(none.code).toBe(1);
    expect(none.out.stderr.join("\n")).toContain("no host in");

    const badInv = join(dir, "bad-inventory.yaml");
    writeFileSync(badInv, "hosts:\n  a: {}\ngroups:\n  g: { hosts: [a, b] }\n");
    const bad = await converge({ inventory: badInv, json: false });
    expect(bad.code).toBe(1);
    expect(bad.out.stderr).toEqual([`gantry: ${badInv}:4: groups.g.hosts[1]: unknown host "b"`]);
    const missing = await converge({ inventory: join(dir, "nope.yaml"), json: false });
    expect(missing.code).toBe(1);
    expect(missing.out.stderr).toEqual([
      `gantry: cannot read inventory ${join(dir, "nope.yaml")}: no such file`,
    ]);

    const badStates = join(dir, "bad-states");
    mkdirSync(badStates);
    writeFileSync(join(badStates, "top.yaml"), "app: [app]\n");
    writeFileSync(join(badStates, "app.yaml"), "resources:\n  - nosuchtype: x\n");
    const broken = await converge({ statesDir: badStates, json: false });
    expect(broken.code).toBe(1);
    expect(broken.out.stderr.join("\n")).toMatch(/app\.yaml:2/);
    expect(broken.out.stdout).toEqual([]);
  });
});

describe("time limits", () => {
  let states: string;
  const root = join(tmpdir(), `gantry-hang-${process.pid}`);

  beforeAll(() => {
    states = join(dir, "hang-states");
    mkdirSync(states, { recursive: true });
    writeFileSync(join(states, "top.yaml"), "hang: [hang]\n");
    // A change that notifies a handler, then a command that hangs, writing its pid first.
    writeFileSync(
      join(states, "hang.yaml"),
      [
        "resources:",
        `  - file: ${root}/before`,
        '    content: "x\\n"',
        "    makeDirs: true",
        "    notify: [reload]",
        "  - exec: hang",
        `    shell: "echo $$ > ${root}/pid; exec sleep 60"`,
        `  - file: ${root}/after`,
        '    content: "x\\n"',
        "handlers:",
        "  - exec: reload",
        '    command: ["true"]',
        "",
      ].join("\n"),
    );
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const inventoryFor = (hosts: string, options: string[] = ["ConnectTimeout=5"]): string => {
    const file = join(dir, `inv-${createHash("sha1").update(hosts).digest("hex")}.yaml`);
    writeFileSync(file, `${inventorySshSection(ssh, options)}\nhosts:\n${hosts}`);
    return file;
  };

  /** Converge `inventory` with the hang states, human output; resolves to the exit and output. */
  async function run(inventory: string, o: Partial<InventoryRunOptions> = {}) {
    const out = capture();
    const started = Date.now();
    const code = await convergeInventory(inventoryOptions(inventory, states, o), out, {
      runnerBundle: bundle,
    });
    return { code, out, ms: Date.now() - started };
  }

  it("--timeout gives up on a hung host and stops its run there too", async () => {
    const h = ssh.hosts[1]!;
    const inventory = inventoryFor(
      `  slow: { address: ${h.address}, port: ${h.port}, roles: [hang] }\n`,
    );
    const { code, out, ms } = await run(inventory, { timeoutMs: 3000 });
    expect(code).toBe(2);
    expect(ms).toBeLessThan(15_000);
    const err = out.stderr.join("\n");
    expect(err).toContain(
      "slow: failed: timed out after 3s: the run on the host was stopped " +
        "(0 ok, 1 changed, 1 failed, 2 skipped; handlers not run, run them by hand: exec:reload)",
    );
    expect(out.stdout.join("\n")).toMatch(/^slow\s+\d+\s+\d+\s+1\s+\d+\s+0$/m);
    // The command was killed on the host, and nothing after it ran.
    const pid = Number(readFileSync(join(root, "pid"), "utf8"));
    expect(pid).toBeGreaterThan(1);
    await eventually("the hung command to be killed", () => !alive(pid), 5000);
    expect(existsSync(join(root, "after"))).toBe(false);
  });

  it("a host that accepts but never speaks SSH is unreachable after ConnectTimeout", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const inventory = inventoryFor(
        `  mute: { address: 127.0.0.1, port: ${port}, roles: [hang] }\n`,
        ["ConnectTimeout=1"],
      );
      const { code, out, ms } = await run(inventory, { check: true });
      expect(code).toBe(2);
      expect(ms).toBeLessThan(8000);
      expect(out.stderr.join("\n")).toMatch(/^mute: unreachable: .*timed out/im);
    } finally {
      silent.close();
    }
  });
});
