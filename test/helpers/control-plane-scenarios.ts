/**
 * The control plane as users run it (issue 3, "Proof"): `gantry up` on the embedded store or
 * `gantry server --store etcd://…` on a real etcd, each a real process, driven by the CLI, by
 * client programs in their own processes and by HTTP. The same scenarios run on both backends,
 * one test file each (control-plane-embedded / control-plane-etcd) so they can run in parallel.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient, type ApiKeyValue } from "../../src/client/client.js";
import { openEtcdStore } from "../../src/store/etcd/index.js";
import type { Store } from "../../src/store/types.js";
import { startEtcd, type EtcdServer } from "./etcd.js";
import {
  runCli,
  spawnCli,
  startGantry,
  type CliResult,
  type GantryProcess,
  type StartOptions,
} from "./gantry.js";
import { freePort } from "./ports.js";

const CAS_WORKER = resolve(import.meta.dirname, "../fixtures/cas-worker.mjs");

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");
const STACK_FRAME = /^\s+at /m;

async function waitFor(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A `node ARGS…` process with its output collected. */
function startNode(args: string[]): {
  child: ChildProcess;
  output: () => string;
  done: Promise<CliResult>;
} {
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((res, rej) => {
    child.on("error", rej);
    child.on("close", (code) => res({ code: code ?? 1, stdout, stderr }));
  });
  return { child, output: () => stdout, done };
}

/** Every complete line a child prints on stdout, as it prints it. */
function stdoutLines(child: ChildProcess): string[] {
  const seen: string[] = [];
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop()!;
    seen.push(...parts);
  });
  return seen;
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((res) => child.once("exit", (code) => res(code)));
}

/** A failed command: non-zero, nothing on stdout, no stack trace; returns its stderr lines. */
function failure(r: CliResult): string[] {
  expect(r.code, r.stdout + r.stderr).not.toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).not.toMatch(STACK_FRAME);
  return lines(r.stderr);
}

/** Every scenario, on `gantry up` (embedded store) or `gantry server` on a real etcd. */
export function controlPlaneScenarios(kind: "embedded" | "etcd"): void {
  const title = kind === "etcd" ? "gantry server --store etcd://" : "gantry up (embedded store)";
  describe(title, () => {
    let etcd: EtcdServer | undefined;
    /** Straight to etcd, bypassing Gantry (which may be down meanwhile). */
    let direct: Store | undefined;
    let g: GantryProcess;
    let admin: GantryClient;

    const options = (): StartOptions =>
      kind === "etcd"
        ? {
            mode: "server",
            store: `etcd://${etcd!.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`,
          }
        : {};

    beforeAll(async () => {
      if (kind === "etcd") {
        etcd = await startEtcd();
        direct = await openEtcdStore({ endpoints: etcd.endpoints });
      }
      g = await startGantry(options());
      admin = new GantryClient({ addr: g.url, token: g.token });
    });

    afterAll(async () => {
      await g?.cleanup();
      await direct?.close();
      await etcd?.cleanup();
    });

    it("counts every increment of 8 racing client processes exactly once", async () => {
      const key = "race/counter";
      const perWorker = 5;
      const workers = range(8).map(() =>
        startNode([CAS_WORKER, g.url, g.token, key, String(perWorker)]),
      );
      await waitFor("8 ready workers", () =>
        workers.every((w) => w.output().startsWith("ready\n")),
      );
      for (const w of workers) w.child.stdin!.end("go\n"); // all at once
      const runs = await Promise.all(workers.map((w) => w.done));
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const results = runs.map(
        (r) => JSON.parse(lines(r.stdout).at(-1)!) as { wrote: number[]; conflicts: number },
      );
      // Each value was written by exactly one winner: no lost update, no double count.
      const wrote = results.flatMap((r) => r.wrote).sort((a, b) => a - b);
      expect(wrote).toEqual(range(8 * perWorker, 1));
      expect(results.reduce((n, r) => n + r.conflicts, 0)).toBeGreaterThan(0);

      const got = await g.cli(["kv", "get", key, "--json"]);
      expect(got.code, got.stderr).toBe(0);
      const total = 8 * perWorker;
      expect(JSON.parse(got.stdout)).toMatchObject({ key, value: String(total), version: total });
    });

    it("lets exactly one of 8 racing `gantry kv put --cas` processes win; the others exit 1 with one line", async () => {
      const key = "race/leader";
      const cas = String(await admin.kvPut(key, "nobody"));

      const runs = await Promise.all(
        range(8).map((i) => g.cli(["kv", "put", key, `p${i}`, "--cas", cas])),
      );
      const winners = runs.flatMap((r, i) => (r.code === 0 ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(runs[winner]!.stdout).toMatch(/^ok \(revision \d+\)\n$/);
      const after = (await admin.kvGet(key))!;
      expect(decode(after.value)).toBe(`p${winner}`);
      for (const [i, r] of runs.entries()) {
        if (i === winner) continue;
        expect(r.code).toBe(1);
        expect(failure(r)).toEqual([
          `gantry: cas failed: expected modRevision ${cas}, but it is ${after.modRevision} (cas)`,
        ]);
      }

      // --cas 0 is create-only.
      const [exists, fresh] = await Promise.all([
        g.cli(["kv", "put", key, "again", "--cas", "0"]),
        g.cli(["kv", "put", "race/fresh", "first", "--cas", "0"]),
      ]);
      expect(failure(exists)).toEqual([
        `gantry: cas failed: expected modRevision 0, but it is ${after.modRevision} (cas)`,
      ]);
      expect(fresh.code, fresh.stderr).toBe(0);
    });

    it("resumes `gantry kv watch` across a server restart without missing or repeating an event", async () => {
      const { revision } = await admin.health();
      const watcher = spawnCli(
        ["kv", "watch", "watched/", "--json", "--from", String(revision + 1)],
        g.env,
      );
      let watcherErr = "";
      watcher.stderr!.on("data", (d: Buffer) => (watcherErr += d.toString()));
      const seen = stdoutLines(watcher);
      const expected: string[] = [];
      const put = async (key: string): Promise<void> => {
        await admin.kvPut(`watched/${key}`, `value of ${key}`);
        expected.push(`put ${key} value of ${key}`);
      };
      try {
        for (const i of range(30)) await put(`before/${i}`);
        await admin.kvDelete("watched/before/0");
        expected.push("delete before/0 ");
        await waitFor("the first events", () => seen.length >= expected.length);

        await g.stop();
        if (direct !== undefined) {
          // Gantry is down but etcd is not: these must reach the watcher once Gantry is back.
          for (const i of range(10)) {
            await direct.put(`kv/watched/meanwhile/${i}`, `value of meanwhile/${i}`);
            expected.push(`put meanwhile/${i} value of meanwhile/${i}`);
          }
        }
        await g.start();
        for (const i of range(30)) await put(`after/${i}`);
        await waitFor(
          `all ${expected.length} events (stderr: ${watcherErr})`,
          () => seen.length >= expected.length,
        );
        await sleep(300); // a repeated event would arrive about now
      } finally {
        watcher.kill("SIGINT");
      }
      expect(await exited(watcher)).toBe(0);

      const events = seen.map(
        (l) => JSON.parse(l) as { type: string; key: string; value: string; modRevision: number },
      );
      expect(events.map((e) => `${e.type} ${e.key.slice("watched/".length)} ${e.value}`)).toEqual(
        expected,
      );
      const revisions = events.map((e) => e.modRevision);
      expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
      expect(new Set(revisions).size).toBe(revisions.length);
    });

    it("keeps every one of 2,000+ acknowledged writes when the server is SIGKILLed mid-stream", async () => {
      const acked = new Map<string, string>();
      const salt = randomBytes(4).toString("hex");
      let killed = false;
      const writers = range(32).map(async (w) => {
        const c = new GantryClient({ addr: g.url, token: g.token });
        for (let n = 0; !killed; n++) {
          const key = `crash/${w}/${n}`;
          const value = `${salt}:${w}:${n}`;
          try {
            await c.kvPut(key, value);
          } catch {
            return; // the server is gone: this write was never acknowledged
          }
          acked.set(key, value);
        }
      });
      await waitFor("2,000 acknowledged writes", () => acked.size >= 2000, 60_000);
      killed = true;
      await g.kill(); // writes are still in flight
      await Promise.all(writers);
      const acknowledged = new Map(acked);
      expect(acknowledged.size).toBeGreaterThanOrEqual(2000);

      await g.start();
      const list = (await admin.kvList("crash/")) as ApiKeyValue[];
      const stored = new Map(list.map((e) => [e.key, decode(e.value)]));
      const lost = [...acknowledged].filter(([k, v]) => stored.get(k) !== v).map(([k]) => k);
      expect(lost).toEqual([]);
    });

    it("answers bad CLI usage with one line that names the problem, never a stack trace", async () => {
      const fresh = mkdtempSync(join(tmpdir(), "gantry-badcli-"));
      try {
        const [unknownFlag, badCas, badFrom, missing, badKey, badPolicy, badAddr] =
          await Promise.all([
            g.cli(["kv", "put", "k", "v", "--bogus"]),
            g.cli(["kv", "put", "k", "v", "--cas", "abc"]),
            g.cli(["kv", "watch", "k/", "--from", "soon"]),
            g.cli(["kv", "get", "no/such/key"]),
            g.cli(["kv", "put", "/abs", "v"]),
            g.cli(["tokens", "create", "bad", "--policy", "kv:app/"]),
            g.cli(["up", "--data-dir", fresh, "--api-addr", "nowhere"]),
          ]);
        expect(failure(unknownFlag)[0]).toBe("error: unknown option '--bogus'");
        expect(failure(badCas)).toEqual([
          'gantry: --cas must be a modRevision (a whole number), got "abc" (--cas)',
        ]);
        expect(failure(badFrom)).toHaveLength(1);
        expect(badFrom.stderr).toMatch(/^gantry: --from .*"soon".*\(--from\)$/m);
        expect(failure(missing)).toEqual(['gantry: key "no/such/key" not found']);
        expect(failure(badKey)).toEqual(['gantry: key must not start with "/" (key)']);
        expect(failure(badPolicy)).toHaveLength(1);
        expect(badPolicy.stderr).toMatch(/\(--policy\)$/m);
        expect(failure(badAddr)).toEqual([
          'gantry: --api-addr must be HOST:PORT, got "nowhere" (--api-addr)',
        ]);
      } finally {
        rmSync(fresh, { recursive: true, force: true });
      }
    });

    it("scopes a token to its policy, records who changed what, and honours revocation", async () => {
      const created = await g.cli([
        "tokens",
        "create",
        "ci",
        "--policy",
        "kv:app/:write",
        "--json",
      ]);
      expect(created.code, created.stderr).toBe(0);
      const { secret } = JSON.parse(created.stdout) as { secret: string };
      const asCi = { env: { GANTRY_TOKEN: secret } };

      const [allowed, denied, auditDenied, ls] = await Promise.all([
        g.cli(["kv", "put", "app/port", "8080"], asCi),
        g.cli(["kv", "put", "other/port", "1"], asCi),
        g.cli(["audit"], asCi),
        g.cli(["tokens", "ls", "--json"]),
      ]);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(failure(denied)).toEqual(['gantry: this token may not write kv "other/port"']);
      expect(failure(auditDenied)).toEqual(["gantry: this token may not read the audit log"]);
      expect(JSON.parse(ls.stdout)).toContainEqual(expect.objectContaining({ name: "ci" }));
      expect(ls.stdout).not.toContain(secret);

      const revoked = await g.cli(["tokens", "revoke", "ci"]);
      expect(revoked.stdout).toMatch(/^revoked token ci \(tok_[0-9a-f]+\)$/m);
      const [afterRevoke, audit] = await Promise.all([
        g.cli(["kv", "get", "app/port"], asCi),
        g.cli(["audit", "-n", "1000"]),
      ]);
      expect(failure(afterRevoke)).toEqual(["gantry: the token is not valid (unknown or revoked)"]);
      // The table, newest last: the ci token's one change, and the revocation by the admin.
      const table = lines(audit.stdout);
      expect(table[0]).toMatch(/^TIME\s+TOKEN\s+ACTION\s+TARGET$/);
      expect(table.filter((l) => / ci +\S+ /.test(l))).toEqual([
        expect.stringMatching(/ ci +kv\.put +app\/port$/),
      ]);
      expect(table.at(-1)).toMatch(/ admin +token\.revoke +ci$/);
    });

    it("says what it started and where, keeps admin.token private, and stops cleanly on Ctrl-C", async () => {
      const own = await startGantry(options());
      try {
        // The API answers a moment before the banner is printed.
        await waitFor("the start-up banner", () => own.output().includes("Ctrl-C to stop"));
        const out = own.output();
        expect(out).toMatch(kind === "etcd" ? /Gantry server is up/ : /Gantry is up/);
        expect(out).toContain(`API      ${own.url}`);
        expect(out).toMatch(kind === "etcd" ? /store +etcd/ : /store +sqlite/);
        if (kind === "embedded") expect(out).toMatch(/agent +node \S+/);
        expect(statSync(join(own.dataDir, "admin.token")).mode & 0o777).toBe(0o600);
        expect(statSync(own.dataDir).mode & 0o777).toBe(0o700);

        const role = kind === "etcd" ? ["server", "--store", options().store!] : ["up"];
        const http = ["--http-addr", `127.0.0.1:${await freePort()}`];
        if (kind === "embedded") {
          // A second `gantry up` on the same data directory must not open the store.
          const second = await runCli(
            [
              "up",
              "--data-dir",
              own.dataDir,
              "--api-addr",
              `127.0.0.1:${await freePort()}`,
              ...http,
            ],
            own.env,
            { timeoutMs: 20_000 },
          );
          expect(failure(second)).toEqual([
            `gantry: the data directory ${join(own.dataDir, "store")} is in use by another Gantry process (pid ${own.pid()}); stop it first or choose another --data-dir`,
          ]);
        } else {
          // Several servers on one etcd is the point: a second one serves the same data.
          const second = await startGantry(options());
          try {
            await new GantryClient({ addr: own.url, token: own.token }).kvPut("shared/x", "1");
            const seen = await new GantryClient({ addr: second.url, token: second.token }).kvGet(
              "shared/x",
            );
            expect(decode(seen!.value)).toBe("1");
          } finally {
            await second.cleanup();
          }
        }
        // Another server on an address that is taken: one line naming it.
        const fresh = mkdtempSync(join(tmpdir(), "gantry-busy-"));
        try {
          const busy = await runCli(
            [...role, "--data-dir", fresh, "--api-addr", `127.0.0.1:${own.port}`],
            { GANTRY_DATA_DIR: fresh },
            { timeoutMs: 20_000 },
          );
          expect(failure(busy)).toEqual([
            `gantry: cannot listen on 127.0.0.1:${own.port}: the address is already in use; choose another with --api-addr`,
          ]);
        } finally {
          rmSync(fresh, { recursive: true, force: true });
        }
        expect((await fetch(`${own.url}/v1/health`)).ok).toBe(true);

        expect(await own.signal("SIGINT")).toEqual({ code: 0, signal: null });
        expect(own.output()).toMatch(/stopping…\nstopped\n$/);

        // Nothing listens now: every command says so in one line, `kv watch` included.
        const unreachable = `gantry: cannot reach Gantry at ${own.url} — is "gantry up" running?`;
        const [get, watch] = await Promise.all([
          own.cli(["kv", "get", "x"]),
          own.cli(["kv", "watch", "x/"], { timeoutMs: 10_000 }),
        ]);
        expect(failure(get)).toEqual([unreachable]);
        expect(failure(watch)).toEqual([unreachable]);
      } finally {
        await own.cleanup();
      }
    });
  });
}
