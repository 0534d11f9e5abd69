/**
 * The stack as code (issue 11) as a user runs it: a stack folder with gantry.yaml, the real CLI
 * (`gantry plan`, `gantry apply`, `stack:forget`…) against a real `gantry up` (embedded store) or
 * `gantry server --store etcd://` on a real etcd. One test file per backend runs these.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient } from "../../src/client/client.js";
import { Session } from "../../src/client/sessions.js";
import { STACK_LOCK_KEY } from "../../src/spec/lock.js";
import { startEtcd, type EtcdServer } from "./etcd.js";
import { spawnCli, startGantry, type CliResult, type GantryProcess } from "./gantry.js";

interface PlanJson {
  changes: {
    kind: string;
    name: string;
    action: string;
    fields: { path: string; old?: unknown; new?: unknown }[];
  }[];
  summary: Record<"create" | "update" | "replace" | "destroy" | "orphan", number>;
}

const STACK = (extra: { prune?: boolean; keys?: string; protect?: boolean } = {}) => `stack:
  name: shop
  prune: ${extra.prune ?? false}
vars:
  port: 8080
kv:
  shop/config/port: \${var.port}
  shop/config/host: { value: "db.internal", sensitive: true }
${extra.protect === false ? "" : "  shop/vault/key: { value: v1, protect: true }\n"}${extra.keys ?? "  shop/config/mode: blue\n"}kvPrefixes: [shop/config/]
services:
  db:
    node: node-1
    address: 127.0.0.1
    port: 5432
    tags: [primary]
    checks:
      - type: tcp
        interval: 30s
tokens:
  shop-reader:
    policies: ["kv:shop/:read"]
`;

const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A spawned CLI's output as it comes, and its result once it exits. */
function collect(child: ChildProcess): { stderr: () => string; done: Promise<CliResult> } {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })),
  );
  return { stderr: () => stderr, done };
}

export function stackScenarios(backend: "embedded" | "etcd"): void {
  const title = `the stack as code (${backend === "etcd" ? "gantry server on etcd" : "gantry up"})`;
  // Each step runs the CLI a few times; on a busy two-core machine a start costs up to ~2 s.
  describe(title, { timeout: 180_000 }, () => {
    let etcd: EtcdServer | undefined;
    let g: GantryProcess;
    let dir: string;
    const write = (text: string): void => writeFileSync(join(dir, "gantry.yaml"), text);
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
      g.cli(args, { env, timeoutMs: 60_000 });
    const plan = async (): Promise<{ code: number; json: PlanJson }> => {
      const r = await cli(["plan", dir, "--json", "--detailed-exitcode"]);
      expect(r.stderr).toBe("");
      return { code: r.code, json: JSON.parse(r.stdout) as PlanJson };
    };
    const apply = async (...flags: string[]): Promise<CliResult> => {
      const r = await cli(["apply", dir, ...flags]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      return r;
    };
    const kvGet = async (key: string): Promise<string | undefined> => {
      const r = await cli(["kv", "get", key]);
      return r.code === 0 ? r.stdout.trimEnd() : undefined;
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "gantry-stack-"));
      if (backend === "etcd") {
        etcd = await startEtcd();
        const endpoints = etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",");
        g = await startGantry({ mode: "server", store: `etcd://${endpoints}` });
      } else g = await startGantry();
    });

    afterAll(async () => {
      await g?.cleanup();
      await etcd?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("plans creates, applies them, then plans nothing; a token's secret is shown once", async () => {
      write(STACK());
      const first = await plan();
      expect(first.code).toBe(2);
      expect(first.json.summary).toEqual({
        create: 6,
        update: 0,
        replace: 0,
        destroy: 0,
        orphan: 0,
      });
      const host = first.json.changes.find((c) => c.name === "shop/config/host")!;
      expect(host.fields).toEqual([{ path: "value", new: "(sensitive)" }]);

      const applied = await apply();
      expect(applied.stdout).toContain("Apply complete: 6 created, 0 updated, 0 destroyed.");
      expect(applied.stdout).not.toContain("db.internal");
      const secret = /secret (gty_[A-Za-z0-9_-]+)/.exec(applied.stdout)?.[1];
      expect(secret).toBeDefined();
      // The secret works, for what its policies allow.
      const asReader = await cli(["kv", "get", "shop/config/port"], { GANTRY_TOKEN: secret! });
      expect(asReader.stdout.trim()).toBe("8080");
      expect((await cli(["kv", "put", "shop/x", "1"], { GANTRY_TOKEN: secret! })).code).toBe(1);

      const again = await plan();
      expect(again).toEqual({
        code: 0,
        json: { changes: [], summary: { create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 } },
      });
      const text = await cli(["plan", dir]);
      expect(text.stdout).toContain("No changes");
      expect(text.stdout).not.toContain("gty_");
      const services = JSON.parse((await cli(["services", "db", "--json"])).stdout) as {
        port: number;
      }[];
      expect(services[0]!.port).toBe(5432);
      const info = await cli(["stack:info", "--json"]);
      expect(JSON.parse(info.stdout)).toMatchObject({ name: "shop", managed: 6, protected: 1 });
    });

    it("shows a hand edit as an update and repairs it; an extra key under an owned prefix is an orphan", async () => {
      expect((await cli(["kv", "put", "shop/config/port", "9999"])).code).toBe(0);
      expect((await cli(["kv", "put", "shop/config/stray", "x"])).code).toBe(0);
      const drift = await plan();
      expect(drift.code).toBe(2);
      expect(drift.json.changes).toEqual([
        {
          kind: "kv",
          name: "shop/config/port",
          action: "update",
          fields: [{ path: "value", old: "9999", new: "8080" }],
        },
        { kind: "kv", name: "shop/config/stray", action: "orphan", fields: [] },
      ]);
      const text = await cli(["plan", dir]);
      expect(text.stdout).toContain("drift: changed outside the stack");
      expect(text.stdout).toContain("Plan: 0 to create, 1 to update, 0 to destroy, 1 orphaned");
      const r = await apply();
      expect(r.stdout).toContain("Apply complete: 0 created, 1 updated, 0 destroyed.");
      expect(await kvGet("shop/config/port")).toBe("8080");
      expect(await kvGet("shop/config/stray")).toBe("x");
    });

    it("keeps an item removed from the spec as an orphan, destroys it with prune; never a protected one", async () => {
      write(STACK({ keys: "" }));
      const orphaned = await plan();
      expect(orphaned.json.summary).toMatchObject({ destroy: 0, orphan: 2 });
      await apply();
      expect(await kvGet("shop/config/mode")).toBe("blue");

      write(STACK({ keys: "", prune: true, protect: false }));
      const pruning = await plan();
      expect(pruning.json.changes.map((c) => `${c.action} ${c.name}`).sort()).toEqual([
        "destroy shop/config/mode",
        "destroy shop/config/stray",
        "orphan shop/vault/key",
      ]);
      const r = await apply();
      expect(r.stdout).toContain("Apply complete: 0 created, 0 updated, 2 destroyed.");
      expect(await kvGet("shop/config/mode")).toBeUndefined();
      expect(await kvGet("shop/vault/key")).toBe("v1");
      // Still protected, still managed: it stays an orphan until forgotten.
      const forgot = await cli(["stack:forget", "kv/shop/vault/key"]);
      expect(forgot.code, forgot.stderr).toBe(0);
      expect((await plan()).code).toBe(0);
      expect(await kvGet("shop/vault/key")).toBe("v1");
      const twice = await cli(["stack:forget", "kv/shop/vault/key"]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain("not found");
    });

    it("refuses a saved plan gone stale, naming the item, and changes nothing", async () => {
      write(STACK({ keys: "  shop/config/mode: green\n", prune: true, protect: false }));
      const planFile = join(dir, "..", `${dir.split("/").at(-1)}.plan`);
      const saved = await cli(["plan", dir, "--out", planFile]);
      expect(saved.code).toBe(0);
      expect(saved.stdout).toContain("Saved the plan");
      expect((await cli(["kv", "put", "shop/config/port", "7000"])).code).toBe(0);
      const r = await cli(["apply", planFile]);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)[0]).toBe(
        "gantry: the saved plan is stale: kv shop/config/port changed since it was made; nothing was applied. Run gantry plan again.",
      );
      expect(await kvGet("shop/config/mode")).toBeUndefined();
      expect(await kvGet("shop/config/port")).toBe("7000");

      const fresh = await cli(["plan", dir, "--out", planFile]);
      expect(fresh.code).toBe(0);
      const ok = await cli(["apply", planFile]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain("Apply complete: 1 created, 1 updated, 0 destroyed.");
      expect(await kvGet("shop/config/mode")).toBe("green");
      rmSync(planFile);
    });

    it("runs one apply at a time: others wait for the stack lock, none half-applies", async () => {
      const keys = Array.from({ length: 150 }, (_, i) => `  shop/config/k${i}: "${i}"\n`).join("");
      write(STACK({ keys, prune: true, protect: false }));
      // Hold the stack lock (as another apply would) until both applies say they wait for it.
      const admin = new GantryClient({ addr: g.url, token: g.token });
      const holder = await Session.create(admin, { ttl: "15s", behavior: "delete" });
      const me = {
        by: "ops@bastion",
        pid: 4242,
        what: "the test",
        since: new Date().toISOString(),
      };
      expect(await holder.acquire(STACK_LOCK_KEY, JSON.stringify(me))).toBe(true);
      const waitedOut = await cli(["apply", dir, "--lock-timeout", "500ms"]);
      expect(waitedOut.code).toBe(1);
      expect(waitedOut.stderr).toContain(
        "gave up waiting for the stack lock held by ops@bastion (the test, pid 4242",
      );
      const both = [
        collect(spawnCli(["apply", dir], g.env)),
        collect(spawnCli(["apply", dir], g.env)),
      ];
      while (
        !both.every((r) => r.stderr().includes("waiting for the stack lock held by ops@bastion"))
      )
        await sleep(50);
      expect(await kvGet("shop/config/k0")).toBeUndefined(); // nothing happens while it is held
      await holder.destroy();
      const [a, b] = await Promise.all(both.map((r) => r.done));
      for (const r of [a!, b!]) expect(r.code, r.stderr).toBe(0);
      // One applied everything; the other, after it, found nothing left to do.
      const created = [a!, b!].map((r) => /Apply complete: (\d+) created/.exec(r.stdout)?.[1]);
      expect(created.sort()).toEqual(["0", "150"]);
      expect((await plan()).code).toBe(0);
    });

    it("refuses an apply that would destroy everything unless --allow-empty; a broken spec applies nothing", async () => {
      write("stack:\n  prune: true\n");
      const refused = await cli(["apply", dir, "--auto-approve"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("would destroy all");
      expect(await kvGet("shop/config/k1")).toBe("1");

      write(
        "kv:\n  shop/config/k1: 1\n  shop/config/k2: [x]\nservices:\n  db: { prot: 1 }\nkvv: {}\n",
      );
      const broken = await cli(["apply", dir]);
      expect(broken.code).toBe(1);
      const problems = lines(broken.stderr);
      expect(problems[0]).toBe("gantry: the stack does not load (6 problems):");
      expect(problems).toContain(
        "gantry.yaml:3: kv.shop/config/k2: expected a string, a number, true/false or a map, got a list",
      );
      expect(problems).toContain(
        'gantry.yaml:5: services.db.prot: unknown field — did you mean "port"?',
      );
      expect(problems).toContain("gantry.yaml:5: services.db.address: is required (a string)");
      expect(problems.at(-1)).toBe('gantry.yaml:6: kvv: unknown section — did you mean "kv"?');
      expect(broken.stderr).not.toMatch(/^\s+at /m);
      expect(await kvGet("shop/config/k1")).toBe("1");

      write("stack:\n  prune: true\n");
      const emptied = await cli(["apply", dir, "--allow-empty"]);
      expect(emptied.code, emptied.stderr).toBe(0);
      expect(emptied.stdout).toMatch(/Apply complete: 0 created, 0 updated, \d+ destroyed\./);
      expect(await kvGet("shop/config/k1")).toBeUndefined();
      const info = JSON.parse((await cli(["stack:info", "--json"])).stdout) as { managed: number };
      expect(info.managed).toBe(0);
    });
  });
}
