/**
 * Control-plane scenarios about the CLI and the server process: bad usage answered in one line,
 * token policies, the audit log and revocation, and start-up, a busy address and Ctrl-C (run
 * by controlPlaneScenarios on both backends).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { GantryClient } from "../../src/client/client.js";
import { decode, failure, lines, waitFor } from "./cli-processes.js";
import type { ControlPlane } from "./control-plane-scenarios.js";
import { runCli, startGantry, type GantryProcess } from "./gantry.js";
import { freePort } from "./ports.js";

/** CLI errors, tokens and audit, and the server's start and stop, on the started control plane. */
export function cliScenarios(cp: ControlPlane): void {
  const { kind, options } = cp;
  let g: GantryProcess;
  beforeAll(() => {
    ({ g } = cp);
  });

  it("answers bad CLI usage with one line that names the problem, never a stack trace", async () => {
    const fresh = mkdtempSync(join(tmpdir(), "gantry-badcli-"));
    try {
      const [unknownFlag, badCas, badFrom, missing, badKey, badPolicy, badAddr] = await Promise.all(
        [
          g.cli(["kv", "put", "k", "v", "--bogus"]),
          g.cli(["kv", "put", "k", "v", "--cas", "abc"]),
          g.cli(["kv", "watch", "k/", "--from", "soon"]),
          g.cli(["kv", "get", "no/such/key"]),
          g.cli(["kv", "put", "/abs", "v"]),
          g.cli(["tokens", "create", "bad", "--policy", "kv:app/"]),
          g.cli(["up", "--data-dir", fresh, "--api-addr", "nowhere"]),
        ],
      );
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
    const created = await g.cli(["tokens", "create", "ci", "--policy", "kv:app/:write", "--json"]);
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
          ["up", "--data-dir", own.dataDir, "--api-addr", `127.0.0.1:${await freePort()}`, ...http],
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
}
