/**
 * An app's `source:` folder: which files it holds, their content hash, and a tar of them to
 * build. Inside a git work tree, git's own ignore rules decide the files (`node_modules/` in a
 * .gitignore stays out), committed or not; elsewhere every file but `.git/`. The hash is a
 * sha256 over the sorted paths, each file's kind (file, executable, link) and its content, so
 * it changes exactly when what would be built changes, and is the same on every clone.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Every entry of the tar gets this mtime, so the same folder packs to the same bytes. */
const FIXED_MTIME = new Date("2000-01-01T00:00:00Z");

export interface SourceFolder {
  /** Relative paths of the files, sorted. */
  files: string[];
  /** sha256 (hex) of the paths, kinds and contents. */
  hash: string;
  /** The HEAD commit when the folder is in a git work tree and has no uncommitted change. */
  commit?: string;
}

/** Read a source folder: its files (git's view when in a work tree), hash and clean commit. */
export async function readSourceFolder(dir: string): Promise<SourceFolder> {
  const git = await gitFiles(dir);
  const files = (git?.files ?? walk(dir)).filter((f) => present(dir, f)).sort();
  return {
    files,
    hash: hashFiles(dir, files),
    ...(git?.commit === undefined ? {} : { commit: git.commit }),
  };
}

/** The sha256 of these files of `dir` (sorted relative paths). */
export function hashFiles(dir: string, files: readonly string[]): string {
  const h = createHash("sha256");
  for (const f of files) {
    const full = join(dir, f);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) h.update(`${f}\0link\0`).update(readlinkSync(full));
    else h.update(`${f}\0${st.mode & 0o111 ? "exec" : "file"}\0`).update(readFileSync(full));
    h.update("\0");
  }
  return h.digest("hex");
}

/** A tar (uncompressed, deterministic) of these files of `dir`. */
export async function packFiles(dir: string, files: readonly string[]): Promise<Buffer> {
  const tar = await import("tar");
  const chunks: Buffer[] = [];
  const stream = tar.c(
    { cwd: dir, portable: true, mtime: FIXED_MTIME, noDirRecurse: true, follow: false },
    [...files],
  ) as unknown as AsyncIterable<Buffer>;
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Files git sees in `dir` (tracked and untracked, not ignored), or undefined outside a repo. */
async function gitFiles(dir: string): Promise<{ files: string[]; commit?: string } | undefined> {
  const git = (args: string[]) =>
    run("git", ["-C", dir, ...args], { maxBuffer: 64 * 1024 * 1024, env: gitEnv() });
  try {
    const inside = await git(["rev-parse", "--is-inside-work-tree"]);
    if (inside.stdout.trim() !== "true") return undefined;
  } catch {
    return undefined;
  }
  const listed = await git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
  const files = [...new Set(listed.stdout.split("\0").filter((f) => f !== ""))];
  let commit: string | undefined;
  try {
    const [head, status] = await Promise.all([
      git(["rev-parse", "--verify", "-q", "HEAD"]),
      git(["status", "--porcelain", "--", "."]),
    ]);
    if (status.stdout.trim() === "" && /^[0-9a-f]{40}$/.test(head.stdout.trim()))
      commit = head.stdout.trim();
  } catch {
    // no commit yet: the build is an upload
  }
  return { files, ...(commit === undefined ? {} : { commit }) };
}

/** git without the user's pager or prompts; the repository's own config still applies. */
function gitEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };
}

/** Every file under `dir` but `.git/`, relative, with "/" separators. */
function walk(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const entry of readdirSync(rel === "" ? dir : join(dir, rel), { withFileTypes: true })) {
      if (entry.name === ".git") continue;
      const path = rel === "" ? entry.name : posix.join(rel, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
    }
  };
  visit("");
  return out;
}

/** A listed path that is a file or a link now (git lists tracked files deleted by hand). */
function present(dir: string, file: string): boolean {
  try {
    const st = lstatSync(join(dir, file));
    return st.isFile() || st.isSymbolicLink();
  } catch {
    return false;
  }
}
