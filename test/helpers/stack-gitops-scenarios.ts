/**
 * GitOps for the stack as users drive it (issue 11): real `gantry up` (or `gantry server` on a
 * real etcd), real git pushing to the stack repo Gantry hosts over smart HTTP, a local bare
 * repo followed with stack:connect and poked by signed webhooks, and hand edits with the CLI
 * that the drift loop repairs. One test file per store backend runs these.
 */
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient } from "../../src/client/client.js";
import type { StackInfo } from "../../src/model/stack.js";
import { startEtcd, type EtcdServer } from "./etcd.js";
import { startGantry, type GantryProcess, type StartOptions } from "./gantry.js";
import { git, type Run } from "./paas.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function stackGitOpsScenarios(backend: "embedded" | "etcd"): void {
  describe(`GitOps for the stack (${backend})`, () => {
    let etcd: EtcdServer | undefined;
    let g: GantryProcess;
    let admin: GantryClient;
    let work: string;
    let repo: string;
    let remote: string;

    const options = (): StartOptions =>
      backend === "etcd"
        ? {
            mode: "server",
            store: `etcd://${etcd!.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`,
          }
        : {};

    const value = async (key: string): Promise<string | undefined> => {
      const kv = await admin.kvGet(key);
      return kv === undefined ? undefined : Buffer.from(kv.value, "base64").toString("utf8");
    };
    const info = (): Promise<StackInfo> => admin.json<StackInfo>("GET", "/v1/stack/info");
    const head = async (dir: string): Promise<string> =>
      (await git(["rev-parse", "HEAD"], dir)).stdout.trim();
    const serverMain = async (): Promise<string> =>
      (
        await git(
          [
            "--git-dir",
            join(g.dataDir, "repos", "_stack.git"),
            "rev-parse",
            "-q",
            "--verify",
            "main",
          ],
          work,
        )
      ).stdout.trim();
    /** Commit gantry.yaml (and other files) in `dir`. */
    const commit = async (
      dir: string,
      yaml: string,
      files: Record<string, string> = {},
    ): Promise<string> => {
      writeFileSync(join(dir, "gantry.yaml"), yaml);
      for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
      await git(["add", "-A"], dir);
      await git(["commit", "-q", "-m", `change ${Date.now()}`], dir);
      return head(dir);
    };
    const push = (dir = repo, url = remote): Promise<Run> => git(["push", url, "main"], dir);
    const corrections = async (target: string, since: string): Promise<number> =>
      (await admin.audit(10_000)).filter(
        (e) => e.action === "stack.drift.correct" && e.target.startsWith(target) && e.time >= since,
      ).length;

    beforeAll(async () => {
      if (backend === "etcd") etcd = await startEtcd();
      g = await startGantry(options());
      admin = new GantryClient({ addr: g.url, token: g.token });
      work = mkdtempSync(join(tmpdir(), "gantry-stack-git-"));
      repo = join(work, "stack");
      mkdirSync(repo);
      await git(["init", "-q", "-b", "main", repo], work);
      const stackInfo = await info();
      remote = stackInfo.gitUrl!.replace("://", `://x:${g.token}@`);
    });

    afterAll(async () => {
      await g?.cleanup();
      await etcd?.cleanup();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    it("stack:info names the stack repo; a push to main plans, applies and streams both", async () => {
      expect((await info()).gitUrl).toBe(`${g.url}/git/_stack.git`);
      const sha = await commit(
        repo,
        [
          "stack:",
          "  name: demo",
          "kv:",
          "  app/port: 8080",
          "  app/name: hello",
          "services:",
          "  db:",
          "    node: db-1",
          "    address: 10.0.0.5",
          "    port: 5432",
        ].join("\n") + "\n",
      );
      const r = await push();
      expect(r.code, r.stderr).toBe(0);
      // git shows the hook's output as remote: lines, in the order the server wrote them.
      const remoteLines = r.stderr.split("\n").filter((l) => l.startsWith("remote: "));
      const text = remoteLines.join("\n");
      expect(text).toMatch(/remote: +\+ kv app\/port/);
      expect(text).toMatch(/remote: +\+ service db/);
      expect(text).toMatch(/remote: Plan: 3 to create, 0 to update, 0 to destroy, 0 orphaned/);
      expect(text).toMatch(/remote: kv app\/port: created/);
      expect(text).toMatch(/remote: -----> Synced [0-9a-f]{12} in .*Apply complete: 3 created/);
      expect(text.indexOf("Plan: 3 to create")).toBeLessThan(text.indexOf("Apply complete"));
      expect(await value("app/port")).toBe("8080");
      expect(await serverMain()).toBe(sha);
      const after = await info();
      expect(after).toMatchObject({ name: "demo", commit: sha, state: "synced" });
      expect(after.lastSync).toMatchObject({ commit: sha, result: "synced" });
    });

    it("rejects a push of a spec that does not load, with file:line, and changes nothing", async () => {
      const before = await serverMain();
      const revision = (await admin.health()).revision;
      await commit(
        repo,
        [
          "stack:",
          "  name: demo",
          "kv:",
          "  app/port: 9090",
          "  app/name: hello",
          "servics:",
          "  db: {}",
        ].join("\n") + "\n",
      );
      const r = await push();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/remote: {2}! +gantry\.yaml:6: servics: unknown section/);
      expect(r.stderr).toMatch(/pre-receive hook declined/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(await serverMain()).toBe(before);
      expect(await value("app/port")).toBe("8080");
      const now = await info();
      expect(now).toMatchObject({ commit: before, state: "synced" });
      expect(now.lastSync?.result).toBe("rejected");
      // Nothing but the stack's own status and its audit entry was written.
      const changed = await admin.json<{ key: string }[]>("GET", "/v1/kv/app/", {
        query: { recurse: true },
      });
      expect(changed.every((kv) => kv.key.startsWith("app/"))).toBe(true);
      expect((await admin.kvGet("app/port"))!.modRevision).toBeLessThan(revision);
      await git(["reset", "-q", "--hard", "HEAD~1"], repo);
    });

    it("applies with the pusher's token: a push it may not apply is rejected", async () => {
      const t = await admin.tokensCreate("ci-push", [
        { resource: "stack", prefix: "", access: "write" },
        { resource: "session", prefix: "", access: "write" },
        { resource: "kv", prefix: "locks/gantry/", access: "write" },
        { resource: "kv", prefix: "app/", access: "write" },
      ]);
      const url = remote.replace(`x:${g.token}@`, `x:${t.secret}@`);
      await commit(
        repo,
        [
          "stack:",
          "  name: demo",
          "kv:",
          "  app/port: 8080",
          "  app/name: hello",
          "  other/secret: x",
          "services:",
          "  db: {node: db-1, address: 10.0.0.5, port: 5432}",
        ].join("\n") + "\n",
      );
      const r = await push(repo, url);
      expect(r.code).not.toBe(0);
      // The pusher may not touch other/: the plan already fails reading it.
      expect(r.stderr).toMatch(/remote: .*may not .*other\//);
      expect(r.stderr).toMatch(/pre-receive hook declined/);
      expect(await value("other/secret")).toBeUndefined();
      const reader = await admin.tokensCreate("reader", [
        { resource: "kv", prefix: "", access: "read" },
      ]);
      const denied = await push(repo, remote.replace(`x:${g.token}@`, `x:${reader.secret}@`));
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/may not (push to|read) the stack repository/);
      await git(["reset", "-q", "--hard", "HEAD~1"], repo);
    });

    it("shows a hand edit as drift with warn, and repairs it with correct, backing off against a writer", async () => {
      const spec = (drift: string): string =>
        [
          "stack:",
          "  name: demo",
          `  drift: ${drift}`,
          "kv:",
          "  app/port: 8080",
          "  app/name: hello",
          "services:",
          "  db: {node: db-1, address: 10.0.0.5, port: 5432}",
        ].join("\n") + "\n";
      await commit(repo, spec("warn"));
      expect((await push()).code).toBe(0);
      await g.cli(["kv", "put", "app/name", "by-hand"]);
      const drift = await eventually("the drift to show", async () => {
        const d = (await info()).drift;
        return d?.items.includes("kv/app/name") ? d : undefined;
      });
      expect(drift.fields?.["kv/app/name"]?.length).toBeGreaterThan(0);
      const shown = await g.cli(["stack:info"]);
      expect(shown.stdout).toMatch(/kv\/app\/name/);
      expect(await value("app/name")).toBe("by-hand"); // warn leaves it
      const plan = await g.cli(["plan", repo]);
      expect(plan.stdout).toMatch(/~ kv app\/name.*drift/);

      await commit(repo, spec("correct"));
      expect((await push()).code).toBe(0);
      // The push itself re-applied it (the spec applies); now a new hand edit:
      expect(await value("app/name")).toBe("hello");
      const since = new Date().toISOString();
      await g.cli(["kv", "put", "app/port", "1"]);
      await eventually(
        "the correction",
        async () => ((await value("app/port")) === "8080" ? true : undefined),
        10_000,
      );
      // The audit entry is written just after the correction itself (in the same check).
      await eventually("the correction's audit entry", async () =>
        (await corrections("kv/app/port", since)) >= 1 ? true : undefined,
      );
      expect(await corrections("kv/app/port", since)).toBe(1);

      // Another writer that keeps changing the key every 100 ms for 8 s: corrections back off
      // (1 s, 2 s, 4 s …), so a handful are made, not one per write.
      await sleep(2500); // the first correction's window passes, so the backoff starts afresh
      const fight = new Date().toISOString();
      const end = Date.now() + 8000;
      let writes = 0;
      while (Date.now() < end) {
        await admin.kvPut("app/port", `w${writes++}`);
        await sleep(100);
      }
      const made = await corrections("kv/app/port", fight);
      expect(writes).toBeGreaterThan(40);
      expect(made).toBeGreaterThanOrEqual(2);
      expect(made).toBeLessThanOrEqual(5);
      // Once the writer stops, the next correction puts it back.
      await eventually(
        "the last correction",
        async () => ((await value("app/port")) === "8080" ? true : undefined),
        20_000,
      );
    });

    it("follows an outside repo with stack:connect; a signed webhook syncs it, a badly signed one is refused", async () => {
      const outside = join(work, "outside.git");
      await git(["init", "-q", "--bare", "-b", "main", outside], work);
      const clone = join(work, "outside-work");
      mkdirSync(clone);
      await git(["init", "-q", "-b", "main", clone], work);
      const spec = (port: string): string =>
        [
          "stack:",
          "  name: demo",
          "kv:",
          `  app/port: "${port}"`,
          "  app/name: hello",
          "services:",
          "  db: {node: db-1, address: 10.0.0.5, port: 5432}",
        ].join("\n") + "\n";
      const first = await commit(clone, spec("7000"));
      expect((await git(["push", outside, "main"], clone)).code).toBe(0);

      const c = await g.cli([
        "stack:connect",
        outside,
        "--interval",
        "1h",
        "--secret",
        "s3cret",
        "--json",
      ]);
      expect(c.code, c.stderr).toBe(0);
      const answer = JSON.parse(c.stdout) as {
        head: string;
        webhook: string;
        webhookSecret: boolean;
      };
      expect(answer).toMatchObject({ head: first, webhookSecret: true });
      expect(c.stdout).not.toContain("s3cret");
      // Connecting syncs at once, without waiting for the hour.
      await eventually("the first sync", async () =>
        (await info()).state === "synced" && (await info()).commit === first ? true : undefined,
      );
      expect(await value("app/port")).toBe("7000");
      expect(await info()).toMatchObject({
        commit: first,
        gitUrl: outside,
        branch: "main",
        state: "synced",
      });
      // While following, the hosted repo takes no pushes.
      const refused = await push();
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/follows .*outside\.git/);

      const second = await commit(clone, spec("7001"));
      expect((await git(["push", outside, "main"], clone)).code).toBe(0);
      const body = JSON.stringify({ ref: "refs/heads/main", after: second });
      const sign = (secret: string): string =>
        createHmac("sha256", secret).update(body).digest("hex");
      const send = (headers: Record<string, string>): Promise<Response> =>
        fetch(answer.webhook, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body,
        });

      expect((await send({ "x-hub-signature-256": `sha256=${sign("wrong")}` })).status).toBe(401);
      expect((await send({})).status).toBe(401);
      expect((await send({ "x-gitea-signature": sign("wrong") })).status).toBe(401);
      await sleep(1500);
      expect(await value("app/port")).toBe("7000");

      const ok = await send({
        "x-hub-signature-256": `sha256=${sign("s3cret")}`,
        "x-github-event": "push",
      });
      expect(ok.status).toBe(202);
      await eventually(
        "the webhook's sync",
        async () => ((await value("app/port")) === "7001" ? true : undefined),
        10_000,
      );
      await eventually("the webhook's sync recorded", async () =>
        (await info()).commit === second ? true : undefined,
      );

      // Gitea's header works too.
      const third = await commit(clone, spec("7002"));
      expect((await git(["push", outside, "main"], clone)).code).toBe(0);
      const body3 = JSON.stringify({ ref: "refs/heads/main", after: third });
      const res3 = await fetch(answer.webhook, {
        method: "POST",
        headers: {
          "x-gitea-signature": createHmac("sha256", "s3cret").update(body3).digest("hex"),
        },
        body: body3,
      });
      expect(res3.status).toBe(202);
      await eventually(
        "the Gitea webhook's sync",
        async () => ((await value("app/port")) === "7002" ? true : undefined),
        10_000,
      );

      const d = await g.cli(["stack:disconnect"]);
      expect(d.code, d.stderr).toBe(0);
      expect((await info()).gitUrl).toBe(`${g.url}/git/_stack.git`);
    });
  });
}
