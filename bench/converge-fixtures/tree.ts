import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What a converge left under `root`: counts of directories and regular files (root excluded),
 * and a digest of every path's type, permission bits and content, to compare the tools.
 */
export function treeSummary(root: string): { directories: number; files: number; digest: string } {
  const hash = createHash("sha256");
  let directories = 0;
  let files = 0;
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        directories++;
        hash.update(`d ${rel}${name} ${mode}\n`);
        walk(path, `${rel}${name}/`);
      } else {
        files++;
        hash.update(`f ${rel}${name} ${mode} `).update(readFileSync(path)).update("\n");
      }
    }
  };
  walk(root, "");
  return { directories, files, digest: hash.digest("hex") };
}
