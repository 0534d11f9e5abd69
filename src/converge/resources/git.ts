import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceContext, ResourceType } from "../types.js";
import {
  git,
  gitTry,
  isFullSha,
  parseLsRemote,
  resolveRef,
  type GitOptions,
} from "./exec/git-cli.js";

const fields = z.strictObject({
  repo: z.string().min(1),
  ref: z.string().min(1).optional(),
  force: z.boolean().optional(),
});

export type GitProps = z.infer<typeof fields>;

/** What is at the destination now. */
type Local =
  | { kind: "absent" }
  | { kind: "repo"; head: string | undefined; dirty: string[]; url: string | undefined };

const short = (sha: string | undefined): string =>
  sha === undefined ? "(none)" : sha.slice(0, 12);

async function localState(dest: string, o: GitOptions): Promise<Local> {
  let st;
  try {
    st = statSync(dest);
  } catch {
    return { kind: "absent" };
  }
  if (st.isDirectory() && readdirSync(dest).length === 0) return { kind: "absent" };
  if (!st.isDirectory() || !existsSync(join(dest, ".git")))
    throw new ResourceFailed(`${dest} exists and is not a git work tree`);
  const at = { ...o, dir: dest };
  const head = await gitTry(["rev-parse", "--verify", "-q", "HEAD^{commit}"], at);
  const status = await git(["status", "--porcelain", "--untracked-files=no"], at);
  const url = await gitTry(["config", "--get", "remote.origin.url"], at);
  return {
    kind: "repo",
    head: head.ok ? head.lines[0] : undefined,
    dirty: status.filter((l) => l.trim() !== "").map((l) => l.slice(3)),
    url: url.ok ? url.lines[0] : undefined,
  };
}

/** The commit `ref` names: a full id as is, anything else through `git ls-remote`. */
async function targetCommit(repo: string, ref: string, o: GitOptions): Promise<string> {
  if (isFullSha(ref)) return ref;
  // Patterns match ref names by their tail; `^{}` asks for a tag's peeled commit too.
  const patterns = ref === "HEAD" ? ["HEAD"] : [ref, `${ref}^{}`];
  const refs = parseLsRemote(await git(["ls-remote", "--", repo, ...patterns], o));
  const sha = resolveRef(refs, ref);
  if (sha === undefined)
    throw new ResourceFailed(
      o.redact(
        ref === "HEAD"
          ? `${repo} has no HEAD (an empty repository?)`
          : `ref ${ref} is not a branch or tag of ${repo} (give a commit as its full id)`,
      ),
    );
  return sha;
}

/** Fetch from origin until the commit is there (tags and branches first, then by id). */
async function ensureCommit(sha: string, at: GitOptions): Promise<void> {
  const has = async (): Promise<boolean> =>
    (await gitTry(["cat-file", "-e", `${sha}^{commit}`], { ...at, log: undefined })).ok;
  if (await has()) return;
  await git(["fetch", "-q", "--tags", "origin"], at);
  if (await has()) return;
  await git(["fetch", "-q", "origin", sha], at);
}

/**
 * `git: DEST` — a clone of `repo` at `ref` (branch, tag or full commit id; default the remote's
 * HEAD), checked out detached. Local changes to tracked files fail the resource unless
 * `force: true` discards them. Everything runs as git argv with prompts off.
 */
export const gitType: ResourceType<GitProps> = {
  type: "git",
  fields,
  validate(name) {
    // A name still holding `{{ }}` is checked again by compile once rendered.
    if (!isAbsolute(name) && !name.includes("{{"))
      return { field: "git", message: `must be an absolute path, got "${name}"` };
    return undefined;
  },
  async inspect(dest, p, ctx: ResourceContext): Promise<Inspection> {
    const o: GitOptions = { signal: ctx.signal, redact: ctx.redact };
    const applyOpts: GitOptions = { ...o, log: ctx.log };
    const ref = p.ref ?? "HEAD";
    const local = await localState(dest, o);
    const sha = await targetCommit(p.repo, ref, o);
    if (local.kind === "absent") {
      return {
        changes: [ctx.redact(`clone ${p.repo} at ${short(sha)}`)],
        async apply() {
          await git(["clone", "-q", "--no-checkout", "--", p.repo, dest], applyOpts);
          const at = { ...applyOpts, dir: dest };
          await ensureCommit(sha, at);
          await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", sha], at);
        },
      };
    }
    if (local.dirty.length > 0 && p.force !== true) {
      const some = local.dirty.slice(0, 5).join(", ") + (local.dirty.length > 5 ? ", …" : "");
      throw new ResourceFailed(
        `${dest} has local changes (${some}); set force: true to discard them`,
      );
    }
    const changes: string[] = [];
    if (local.url !== p.repo)
      changes.push(ctx.redact(`origin ${local.url ?? "(none)"} → ${p.repo}`));
    if (local.dirty.length > 0)
      changes.push(`discard local changes to ${local.dirty.length} files`);
    if (local.head !== sha) changes.push(`checkout ${short(local.head)} → ${short(sha)}`);
    const at = { ...applyOpts, dir: dest };
    return {
      changes,
      async apply() {
        if (local.url !== p.repo)
          await git(["remote", local.url === undefined ? "add" : "set-url", "origin", p.repo], at);
        await ensureCommit(sha, at);
        const force = p.force === true ? ["--force"] : [];
        await git(
          ["-c", "advice.detachedHead=false", "checkout", "-q", ...force, "--detach", sha],
          at,
        );
        if (p.force === true) await git(["reset", "-q", "--hard", sha], at);
      },
    };
  },
};
