/**
 * Outside repositories (a stack's stack:connect, an app's apps:connect), through git itself:
 * `git ls-remote` to see where a branch is, `git fetch` into a bare cache in the data directory,
 * `git archive` of a fetched commit. git never prompts, reads no user or system config, and may
 * only use the file, http(s), ssh and git transports (never `ext::`, which runs commands); file
 * only when the caller allows it.
 */
import { execFile, spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../errors.js";

/** Where fetched commits are kept: `DATA_DIR/stack/cache.git`. */
export const cacheRepoPath = (dataDir: string): string => join(dataDir, "stack", "cache.git");

const GIT_TIMEOUT_MS = 120_000;

/** Whether local paths and file:// URLs may be read (a stack may; apps only when the server says). */
export interface RemoteOptions {
  allowFile?: boolean;
}

function gitEnv(opts: RemoteOptions = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ASKPASS: "/bin/false",
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
    GIT_PROTOCOL_FROM_USER: "0",
    GIT_ALLOW_PROTOCOL: opts.allowFile === false ? "http:https:ssh:git" : "file:http:https:ssh:git",
  };
}

/** Run git; resolves stdout, rejects with git's last stderr line. */
function git(
  args: string[],
  signal?: AbortSignal,
  timeoutMs = GIT_TIMEOUT_MS,
  opts: RemoteOptions = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      {
        env: gitEnv(opts),
        timeout: timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        ...(signal ? { signal } : {}),
      },
      (err, stdout, stderr) => {
        if (err === null) return resolve(stdout);
        const lines = stderr
          .trim()
          .split("\n")
          .filter((l) => l.trim() !== "");
        // git's first fatal line says what went wrong; the lines after it are advice.
        const fatal = lines.find((l) => /^(fatal|error): /.test(l)) ?? lines.at(-1);
        const why = (err as { killed?: boolean }).killed
          ? `git ${args[0]} took longer than ${timeoutMs / 1000} s`
          : (fatal ?? err.message).replace(/^(fatal|error): /, "");
        reject(new Error(why));
      },
    );
  });
}

/** A URL git may fetch from: http(s), ssh, git, file, scp-like `user@host:path`, or a path. */
export function checkRemoteUrl(url: string, opts: RemoteOptions & { field?: string } = {}): void {
  const local = /^file:\/\/[^\s]+$/.test(url) || /^\/[^\s]*$/.test(url);
  const ok =
    /^(https?|ssh|git):\/\/[^\s]+$/.test(url) ||
    /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(url) ||
    (local && opts.allowFile !== false);
  if (!ok || url.includes("::")) {
    throw new ValidationError(
      opts.allowFile === false
        ? `"${url}" is not a git URL Gantry follows: use https://, ssh:// or git:// (this server reads no local paths)`
        : `"${url}" is not a git URL Gantry follows: use https://, ssh://, git://, file:// or an absolute path`,
      opts.field ?? "url",
    );
  }
}

/** A branch name as git allows it (`git check-ref-format --branch`, roughly). */
export function checkBranch(branch: string): void {
  if (
    !/^[A-Za-z0-9._/-]+$/.test(branch) ||
    branch.startsWith("-") ||
    branch.startsWith("/") ||
    branch.endsWith("/") ||
    branch.endsWith(".lock") ||
    branch.includes("..") ||
    branch.includes("//")
  ) {
    throw new ValidationError(`"${branch}" is not a branch name`, "branch");
  }
}

/** A folder inside the repo: relative, no `..`. "" is the root. */
export function normalizeSubPath(path: string): string {
  const p = path.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  if (p === "." || p === "") return "";
  if (p.split("/").some((s) => s === ".." || s === "." || s === "") || p.includes("\0")) {
    throw new ValidationError(`"${path}" must be a folder inside the repository (no ..)`, "path");
  }
  return p;
}

/** The URL without a password, for showing (stack:info) and logs. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)[^@/]*@/, "$1");
}

/** The commit `branch` points at on the remote, or undefined when the branch does not exist. */
export async function lsRemote(
  url: string,
  branch: string,
  signal?: AbortSignal,
  opts: RemoteOptions = {},
): Promise<string | undefined> {
  const out = await git(["ls-remote", "--", url, `refs/heads/${branch}`], signal, 60_000, opts);
  const line = out.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line?.split("\t")[0];
}

/** Fetch `branch` from `url` into the cache (made on first use); answers the fetched commit. */
export async function fetchBranch(
  cache: string,
  url: string,
  branch: string,
  signal?: AbortSignal,
  opts: RemoteOptions = {},
): Promise<string> {
  const ref = `refs/follow/${branch}`;
  await fetchInto(cache, url, [`+refs/heads/${branch}:${ref}`], signal, opts);
  return (
    await git(["--git-dir", cache, "rev-parse", "--verify", `${ref}^{commit}`], signal)
  ).trim();
}

/** Fetch refspecs (or commit ids) from `url` into the bare cache, made on first use. */
export async function fetchInto(
  cache: string,
  url: string,
  refspecs: string[],
  signal?: AbortSignal,
  opts: RemoteOptions = {},
): Promise<void> {
  if (!existsSync(cache)) {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    await git(["init", "--quiet", "--bare", "--template=", cache], signal);
  }
  await git(
    ["--git-dir", cache, "fetch", "--quiet", "--no-tags", "--force", "--", url, ...refspecs],
    signal,
    GIT_TIMEOUT_MS,
    opts,
  );
}

/** Whether the cache holds `commit` (a full id). */
export async function hasCommit(cache: string, commit: string): Promise<boolean> {
  if (!existsSync(cache)) return false;
  try {
    await git(["--git-dir", cache, "cat-file", "-e", `${commit}^{commit}`], undefined, 30_000);
    return true;
  } catch {
    return false;
  }
}

/**
 * `git archive --format=tar` of `commit` from a repository on disk, as a stream; `done` resolves
 * when git ended well and rejects with its error (a truncated tar then fails the reader too).
 */
export function archiveCommit(
  gitDir: string,
  commit: string,
  signal?: AbortSignal,
): { stream: Readable; done: Promise<void> } {
  const child = spawn("git", ["--git-dir", gitDir, "archive", "--format=tar", commit], {
    env: gitEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    ...(signal ? { signal } : {}),
  });
  let err = "";
  child.stderr.on("data", (c: Buffer) => {
    if (err.length < 4096) err += c.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `git archive failed: ${err.trim().replace(/^fatal: /, "") || `exit ${code}`}`,
            ),
          ),
    );
  });
  done.catch(() => undefined);
  // Taken at once: node drops what a child wrote to a stdout no one reads when the child exits,
  // and the reader may come later (a review app is made first).
  const stream = new PassThrough();
  child.stdout.pipe(stream);
  return { stream, done };
}
