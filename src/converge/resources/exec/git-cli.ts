import { ResourceFailed } from "../../errors.js";
import { failure, runProcess } from "./process.js";

const GIT_TIMEOUT_MS = 600_000;

export interface GitOptions {
  /** Run in this work tree (`git -C dir`), trusting it even when another user owns it. */
  dir?: string;
  signal: AbortSignal;
  log?: (line: string) => void;
  redact: (s: string) => string;
}

/** git never prompts: no terminal password prompt, ssh in batch mode. */
function gitEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_TERMINAL_PROMPT: "0",
    GIT_SSH_COMMAND: process.env["GIT_SSH_COMMAND"] ?? "ssh -o BatchMode=yes",
    // Read-only commands (status) must not refresh the index behind check mode's back.
    GIT_OPTIONAL_LOCKS: "0",
    LC_ALL: "C",
  };
}

function argvFor(args: readonly string[], dir: string | undefined): string[] {
  return dir === undefined
    ? ["git", ...args]
    : ["git", "-c", `safe.directory=${dir}`, "-C", dir, ...args];
}

/** Run git; resolve to exit code and output lines (never throws for a non-zero exit). */
export async function gitTry(
  args: readonly string[],
  opts: GitOptions,
): Promise<{ ok: boolean; lines: string[]; why: string | undefined }> {
  const lines: string[] = [];
  const r = await runProcess(argvFor(args, opts.dir), {
    env: gitEnv(),
    timeoutMs: GIT_TIMEOUT_MS,
    signal: opts.signal,
    onLine: (l) => {
      lines.push(l);
      opts.log?.(opts.redact(l));
    },
  });
  const why = failure(r);
  return { ok: why === undefined, lines, why };
}

/** Run git; a failure is a ResourceFailed naming the git command and its output. */
export async function git(args: readonly string[], opts: GitOptions): Promise<string[]> {
  const r = await gitTry(args, opts);
  if (r.ok) return r.lines;
  const tail = r.lines.slice(-20);
  const out = tail.length === 0 ? "" : `\n${tail.join("\n")}`;
  throw new ResourceFailed(opts.redact(`git ${args.join(" ")}: ${r.why}${out}`));
}

/** `git ls-remote` output: ref name → sha. */
export function parseLsRemote(lines: readonly string[]): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of lines) {
    const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line);
    if (m) refs.set(m[2]!, m[1]!);
  }
  return refs;
}

/**
 * The commit a ref names on the remote, from `git ls-remote` refs: HEAD, a branch, a tag (peeled
 * to its commit) or a full ref name. Undefined when it names nothing there.
 */
export function resolveRef(refs: ReadonlyMap<string, string>, ref: string): string | undefined {
  const candidates =
    ref === "HEAD"
      ? ["HEAD"]
      : ref.startsWith("refs/")
        ? [`${ref}^{}`, ref]
        : [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`];
  for (const c of candidates) {
    const sha = refs.get(c);
    if (sha !== undefined) return sha;
  }
  return undefined;
}

/** A full commit id (SHA-1 or SHA-256), used as is without asking the remote. */
export function isFullSha(ref: string): boolean {
  return /^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(ref);
}
