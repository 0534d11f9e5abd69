import { mkdir, stat, utimes, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as z from "zod";
import { formatDuration, parseDuration } from "../../model/duration.js";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceType } from "../types.js";
import { aptStateDir, aptUpdate } from "./system/apt.js";
import { run, type RunOptions, type Runner } from "./system/run.js";

const fields = z.strictObject({
  /** Refresh when the last successful refresh is older than this ("0s": every run). */
  maxAge: z
    .string()
    .refine((s) => parseDuration(s) !== undefined, 'expected a duration like "1h" or "30m"')
    .default("1h"),
});

export type PackageIndexProps = z.infer<typeof fields>;

/**
 * Where the last successful refresh is recorded: the stamp Ubuntu's apt hooks and Ansible's
 * `cache_valid_time` use, under apt's own `Dir::State`.
 */
export const STAMP = "periodic/update-success-stamp";

/** How long ago `ms` milliseconds is, compactly: "3h", "2d", "40s". */
function age(ms: number): string {
  if (ms < 1000) return "<1s";
  if (ms >= 2 * 86_400_000) return `${Math.floor(ms / 86_400_000)}d`;
  return formatDuration(Math.max(0, Math.round(ms / 1000) * 1000));
}

/**
 * The type with its commands run by `runner` (tests point apt at a private repository).
 * `packageIndex: apt` keeps apt's package index fresh: `apt-get update` when the last successful
 * one is older than `maxAge` — Ansible's `update_cache` with `cache_valid_time`. Put it before the
 * packages that need it (file order, or `require`).
 */
export function createPackageIndexType(runner: Runner = run): ResourceType<PackageIndexProps> {
  return {
    type: "packageIndex",
    fields,
    validate(name) {
      return name === "apt"
        ? undefined
        : {
            field: "packageIndex",
            message: `only "apt" is supported, got ${JSON.stringify(name)}`,
          };
    },
    async inspect(_name, props, ctx): Promise<Inspection> {
      const opts: RunOptions = { signal: ctx.signal, redact: ctx.redact };
      const stamp = (await aptStateDir(runner, opts)) + STAMP;
      const maxAgeMs = parseDuration(props.maxAge)!;
      let last: number | undefined;
      try {
        last = (await stat(stamp)).mtimeMs;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
          throw new ResourceFailed(`cannot read ${stamp}: ${(err as Error).message}`);
      }
      const now = Date.now();
      if (last !== undefined && now - last < maxAgeMs && maxAgeMs > 0)
        return { changes: [], apply: async () => undefined };
      const change =
        last === undefined
          ? "update (no successful update recorded)"
          : `update (${age(now - last)} old)`;
      return {
        changes: [change],
        async apply() {
          await aptUpdate(runner, { ...opts, onLine: (l) => ctx.log(l) });
          try {
            await mkdir(dirname(stamp), { recursive: true });
            await writeFile(stamp, "", { flag: "a" });
            const t = new Date();
            await utimes(stamp, t, t);
          } catch (err) {
            throw new ResourceFailed(
              `apt-get update worked, but ${stamp}: ${(err as Error).message}`,
            );
          }
        },
      };
    },
  };
}

/** `packageIndex: apt`: apt's package index refreshed when older than `maxAge` (default 1h). */
export const packageIndexType = createPackageIndexType();
