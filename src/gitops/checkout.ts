/**
 * Checkouts of stack commits: `DATA_DIR/stack/checkouts/<commit>`, what the engine reads
 * (gantry.yaml, `states:`, `source:` folders). A commit arrives as a tar (a push: the hook
 * sends `git archive` of the quarantined commit) or is archived from a repository on disk (the
 * cache of a followed repo). The synced commit's checkout stays for the drift loop; the others
 * are removed.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { unpackTar } from "../build/tarball.js";
import { archiveCommit } from "./remote.js";

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
      const stop = new AbortController();
      const archive = archiveCommit(gitDir, treeish, stop.signal);
      // git's own failure says more than the unreadable tar it left: it is told first.
      const gitFailed = (err: Error): Error =>
        new Error(
          /not a tree object|does not exist|not a valid object name/.test(err.message) && sub !== ""
            ? `the folder "${sub}" does not exist in commit ${commit.slice(0, 12)}`
            : err.message,
        );
      try {
        await unpackTar(archive.stream, tmp, { maxBytes });
      } catch (err) {
        // A tar that ended short: git has usually just failed. Hear from it, then stop it.
        const ended = await Promise.race([
          archive.done.then(
            () => undefined,
            (e: Error) => e,
          ),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
        ]);
        stop.abort();
        throw ended instanceof Error ? gitFailed(ended) : err;
      }
      await archive.done.catch((e: Error) => {
        throw gitFailed(e);
      });
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
