/**
 * Run a CommonJS bundle with V8's code cache, kept beside it. Node 22 does this for every module
 * with `module.enableCompileCache()`; Node 20 has no such switch, and a short-lived command
 * (a 1,000-item `gantry plan` takes ~0.3 s of CPU) spends a good part of its time compiling: with
 * the cache a process starts from the bytecode an earlier run compiled (docs/stack.md, "Figures").
 */
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";

export interface CachedBundle {
  /** What the bundle exports. */
  exports: Record<string, unknown>;
  /** Whether it ran from a code cache (one was there, and V8 took it). */
  fromCache: boolean;
  /** Write the cache when there was none that fitted: call once the work is done. */
  save(): void;
}

type CommonJsWrapper = (
  exports: object,
  require: NodeRequire,
  module: { exports: object },
  filename: string,
  dirname: string,
) => void;

/** Load and run `file` (a CommonJS bundle), from the code cache when one fits it. */
export function loadBundle(file: string): CachedBundle {
  // V8 checks a cache against the source's length, not its content: the cache is named after
  // this build of the bundle (a process of an earlier build never writes one this build reads).
  const { size, mtimeMs } = statSync(file);
  const cacheFile = `${file}.${size}-${Math.round(mtimeMs * 1000)}.cache`;
  const source = readFileSync(file, "utf8");
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // the first run since the build
  }
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    {
      filename: file,
      ...(cachedData === undefined ? {} : { cachedData }),
      // No import() callback: Node 20 loses it when the script comes from the cache, so the
      // bundles have none (scripts/bundle-stack-cli.mjs turns them into require()).
    },
  );
  const module = { exports: {} };
  (script.runInThisContext() as CommonJsWrapper)(
    module.exports,
    createRequire(file),
    module,
    file,
    dirname(file),
  );
  return {
    exports: module.exports,
    fromCache: cachedData !== undefined && !script.cachedDataRejected,
    save() {
      if (cachedData !== undefined && !script.cachedDataRejected) return;
      // After the run, the cache holds every function it compiled, not only the top level.
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only install: every run compiles, as without a cache.
      }
    },
  };
}
