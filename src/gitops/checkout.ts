/**
 * Checkouts of stack commits: `DATA_DIR/stack/checkouts/<commit>`, what the engine reads
 * (gantry.yaml, `states:`, `source:` folders). A commit arrives as a tar (a push: the hook
 * sends `git archive` of the quarantined commit) or is archived from a repository on disk (the
 * cache of a followed repo). The synced commit's checkout stays for the drift loop; the others
 * are removed.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { unpackTar } from "../build/tarball.js";

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export class Checkouts {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "stack", "checkouts");
  }

  /** The checkout of `commit`, when there is one. */
  path(commit: string): string | undefined {
    const dir = join(this.root, checked(commit));
    return existsSync(dir) ? dir : undefined;
  }

  /** Unpack a tar of `commit` (replacing an earlier checkout of it). */
  async fromTar(
    commit: string,
    source: AsyncIterable<Uint8Array>,
    maxBytes: number,
  ): Promise<string> {
    return this.make(commit, (tmp) => unpackTar(source, tmp, { maxBytes }).then(() => undefined));
  }

  /** Archive `commit` (its `sub` folder, when given) from a repository on disk. */
  async fromRepo(gitDir: string, commit: string, sub: string, maxBytes: number): Promise<string> {
    return this.make(commit, async (tmp) => {
      const treeish = sub === "" ? commit : `${commit}:${sub}`;
      const git = spawn("git", ["--git-dir", gitDir, "archive", "--format=tar", treeish], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      git.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((r) => git.on("close", r));
      try {
        await unpackTar(git.stdout, tmp, { maxBytes });
      } finally {
        git.kill();
      }
      const code = await exited;
      if (code !== 0) {
        throw new Error(
          /not a tree object|does not exist/.test(err) && sub !== ""
            ? `the folder "${sub}" does not exist in commit ${commit.slice(0, 12)}`
            : `git archive failed: ${err.trim() || `exit ${code}`}`,
        );
      }
    });
  }

  /** Remove every checkout except that of `commit`. */
  keepOnly(commit: string | undefined): void {
    if (!existsSync(this.root)) return;
    for (const name of readdirSync(this.root)) {
      if (name !== commit) rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** Remove the checkout of `commit`. */
  remove(commit: string): void {
    rmSync(join(this.root, checked(commit)), { recursive: true, force: true });
  }

  private async make(commit: string, fill: (tmp: string) => Promise<void>): Promise<string> {
    const dir = join(this.root, checked(commit));
    const tmp = `${dir}.tmp-${randomBytes(4).toString("hex")}`;
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    try {
      await fill(tmp);
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
      return dir;
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
}

/** A commit id, checked: it becomes a path. */
function checked(commit: string): string {
  if (!COMMIT.test(commit)) throw new Error(`not a full git commit id: ${commit}`);
  return commit;
}
