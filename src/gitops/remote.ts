/**
 * The outside repository a stack follows (stack:connect), through git itself: `git ls-remote`
 * to see where the branch is, `git fetch` into a bare cache in the data directory. git never
 * prompts, reads no user or system config, and may only use the file, http(s), ssh and git
 * transports (never `ext::`, which runs commands).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ValidationError } from "../errors.js";

/** Where fetched commits are kept: `DATA_DIR/stack/cache.git`. */
export const cacheRepoPath = (dataDir: string): string => join(dataDir, "stack", "cache.git");

const GIT_TIMEOUT_MS = 120_000;

function gitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: process.env["HOME"] ?? "/",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_ASKPASS: "/bin/false",
    GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new",
    GIT_PROTOCOL_FROM_USER: "0",
    GIT_ALLOW_PROTOCOL: "file:http:https:ssh:git",
  };
}

/** Run git; resolves stdout, rejects with git's last stderr line. */
function git(args: string[], signal?: AbortSignal, timeoutMs = GIT_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      {
        env: gitEnv(),
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
export function checkRemoteUrl(url: string): void {
  const ok =
    /^(https?|ssh|git|file):\/\/[^\s]+$/.test(url) ||
    /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$/.test(url) ||
    /^\/[^\s]*$/.test(url);
  if (!ok || url.includes("::")) {
    throw new ValidationError(
      `"${url}" is not a git URL Gantry follows: use https://, ssh://, git://, file:// or an absolute path`,
      "url",
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
): Promise<string | undefined> {
  const out = await git(["ls-remote", "--", url, `refs/heads/${branch}`], signal, 60_000);
  const line = out.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`));
  return line?.split("\t")[0];
}

/** Fetch `branch` from `url` into the cache (made on first use); answers the fetched commit. */
export async function fetchBranch(
  cache: string,
  url: string,
  branch: string,
  signal?: AbortSignal,
): Promise<string> {
  if (!existsSync(cache)) {
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    await git(["init", "--quiet", "--bare", "--template=", cache], signal);
  }
  const ref = `refs/follow/${branch}`;
  await git(
    [
      "--git-dir",
      cache,
      "fetch",
      "--quiet",
      "--no-tags",
      "--force",
      "--",
      url,
      `+refs/heads/${branch}:${ref}`,
    ],
    signal,
  );
  return (
    await git(["--git-dir", cache, "rev-parse", "--verify", `${ref}^{commit}`], signal)
  ).trim();
}
