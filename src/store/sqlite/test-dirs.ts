import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Temporary data directories for tests, removed by `cleanup`. */
export function tempDirs(): { make(name?: string): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(name = "store") {
      const dir = mkdtempSync(join(tmpdir(), `gantry-sqlite-${name}-`));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
