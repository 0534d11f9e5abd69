/**
 * The PaaS as a user drives it: real git pushes into `gantry up`, HTTP through its router, and a
 * keep-alive load generator that counts every request that did not answer 2xx.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join, resolve } from "node:path";
import type { GantryProcess } from "./gantry.js";

export const HELLO = resolve(import.meta.dirname, "../../examples/hello");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** git with no user or system config, never prompting. */
export function git(args: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: cwd,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "Dev",
    GIT_AUTHOR_EMAIL: "dev@example.com",
    GIT_COMMITTER_NAME: "Dev",
    GIT_COMMITTER_EMAIL: "dev@example.com",
  };
  return run("git", args, { cwd, env });
}

/** Run a program (never through a shell) and collect its output. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("error", rej);
    p.on("close", (code) => res({ code: code ?? -1, stdout, stderr }));
  });
}

/** A fresh local repository in `parent` with a copy of `from` (a directory) or these files. */
export async function localRepo(
  parent: string,
  from: string | Record<string, string>,
): Promise<string> {
  const dir = mkdtempSync(join(parent, "repo-"));
  await git(["init", "-q", "-b", "main", dir], parent);
  if (typeof from === "string") cpSync(from, dir, { recursive: true });
  else for (const [name, body] of Object.entries(from)) writeFileSync(join(dir, name), body);
  await git(["add", "-A"], dir);
  // A unique message keeps two repositories with the same files from sharing a commit.
  await git(["commit", "-q", "-m", `change ${randomBytes(4).toString("hex")}`], dir);
  return dir;
}

/** Commit a change to a file in a local repository. */
export async function commitFile(dir: string, name: string, body: string): Promise<void> {
  writeFileSync(join(dir, name), body);
  await git(["add", "-A"], dir);
  await git(["commit", "-q", "-m", `change ${name}`], dir);
}

/** The app's git URL (as apps:create printed it) with the token as the HTTP password. */
export const withToken = (gitUrl: string, token: string): string =>
  gitUrl.replace("://", `://x:${token}@`);

/** `git push --force <url> main` from this repository. */
export const push = (dir: string, url: string): Promise<Run> =>
  git(["push", "--force", url, "main"], dir);

/** The router's port, from what `gantry up` printed. */
export async function routerPort(g: GantryProcess): Promise<number> {
  const m = await eventually(
    "the router line",
    async () => /router\s+http:\/\/[^:]+:(\d+)/.exec(g.output()) ?? undefined,
  );
  return Number(m[1]);
}

export interface Answer {
  status: number;
  body: string;
}

/** GET through the router with `Host: <host>` (a fresh connection). */
export function get(port: number, host: string, path = "/"): Promise<Answer> {
  return new Promise((res, rej) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent: false }, (r) => {
      let body = "";
      r.setEncoding("utf8");
      r.on("data", (c: string) => (body += c));
      r.on("end", () => res({ status: r.statusCode ?? 0, body }));
      r.on("error", rej);
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.on("error", rej);
    req.end();
  });
}

/**
 * Poll `probe` until it gives something other than undefined or false (a thrown error counts as
 * not yet, and is shown if time runs out).
 */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`);
}

/** Whether a process exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface LoadResult {
  ok: number;
  failed: number;
  /** The first few failures: status or error, and when. */
  failures: string[];
  /** Distinct bodies seen (e.g. to see a deploy take effect). */
  bodies: Set<string>;
}

export interface Load {
  stop(): Promise<LoadResult>;
  /** Requests answered so far. */
  count(): number;
}

/**
 * `concurrency` loops of keep-alive GETs through the router until stopped (or `maxMs`, a bound so
 * a forgotten generator ends). Any non-2xx answer or error counts as failed.
 */
export function startLoad(
  port: number,
  host: string,
  opts: { concurrency?: number; maxMs?: number } = {},
): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency ?? 4 });
  const result: LoadResult = { ok: 0, failed: 0, failures: [], bodies: new Set() };
  const started = Date.now();
  let stopped = false;
  const deadline = started + (opts.maxMs ?? 120_000);
  const fail = (why: string): void => {
    result.failed++;
    if (result.failures.length < 10) result.failures.push(`${Date.now() - started}ms: ${why}`);
  };
  const one = (): Promise<void> =>
    new Promise((res) => {
      const req = request({ host: "127.0.0.1", port, path: "/", headers: { host }, agent }, (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (c: string) => (body += c));
        r.on("end", () => {
          const s = r.statusCode ?? 0;
          if (s >= 200 && s < 300) {
            result.ok++;
            result.bodies.add(body);
          } else fail(`${s} ${body.slice(0, 200)}`);
          res();
        });
        r.on("error", (e) => {
          fail(e.message);
          res();
        });
      });
      req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
      req.on("error", (e) => {
        fail(e.message);
        res();
      });
      req.end();
    });
  const loop = async (): Promise<void> => {
    while (!stopped && Date.now() < deadline) {
      await one();
      // Leave the machine some room for the platform itself.
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const loops = Array.from({ length: opts.concurrency ?? 4 }, () => loop());
  return {
    count: () => result.ok + result.failed,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}

/**
 * Stop `gantry up` the way Ctrl-C does, so its local agent stops the app instances it runs (they
 * are process groups of their own: a SIGKILLed `gantry up` would leave them running), then
 * remove its data directory.
 */
export async function stopGantry(g: GantryProcess | undefined): Promise<void> {
  if (g === undefined) return;
  await Promise.race([g.stop(), new Promise((r) => setTimeout(r, 20_000))]);
  await g.cleanup();
}

/** `gantry apps:create APP [flags]` through the CLI; answers its git remote with the token in it. */
export async function createApp(
  g: GantryProcess,
  app: string,
  ...flags: string[]
): Promise<string> {
  const created = await g.cli(["apps:create", app, ...flags, "--json"]);
  if (created.code !== 0) throw new Error(`apps:create ${app}: ${created.stderr}`);
  return withToken((JSON.parse(created.stdout) as { gitUrl: string }).gitUrl, g.token);
}

/**
 * A node token like the local agent's (`node:<node>:write`, `service::write`, plus `policies`),
 * made with `gantry tokens create`, in a 0600 file `agent.token` under `dir`; its path.
 */
export async function nodeTokenFile(
  g: GantryProcess,
  node: string,
  dir: string,
  policies: string[] = [],
): Promise<string> {
  const tok = await g.cli([
    "tokens",
    "create",
    `agent-${node}`,
    ...["--policy", `node:${node}:write`, "--policy", "service::write"],
    ...policies.flatMap((p) => ["--policy", p]),
    "--json",
  ]);
  if (tok.code !== 0) throw new Error(`tokens create agent-${node}: ${tok.stderr}`);
  const file = join(dir, "agent.token");
  writeFileSync(file, (JSON.parse(tok.stdout) as { secret: string }).secret + "\n", {
    mode: 0o600,
  });
  return file;
}
