/** The body of a settings change (`PUT /v1/apps/:app/settings`, `gantry apps:set`): src/apps/app-set.ts applies it. */
import * as z from "zod";
import { ConstraintsSchema, CpuSchema, LabelNameSchema } from "./placement.js";
import {
  AppSchema,
  ConfigNameSchema,
  ContainerOptionsSchema,
  HstsSecondsSchema,
  RuntimeSchema,
} from "./app.js";

/** `512M`, `1G`, `1.5G`, `256` (MiB) → MiB; undefined when not a whole number of MiB. */
export function parseMemoryMb(raw: string | number): number | undefined {
  if (typeof raw === "number") return Number.isInteger(raw) ? raw : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(m|mb|mi|mib|g|gb|gi|gib)?$/i.exec(raw.trim());
  if (m === null) return undefined;
  const n = Number(m[1]) * (/^g/i.test(m[2] ?? "") ? 1024 : 1);
  return Number.isInteger(n) ? n : undefined;
}

/** What a settings change may give; absent fields stay as they are. */
export const AppSetSchema = z.strictObject({
  healthPath: AppSchema.shape.healthPath.optional(),
  deployTimeoutMs: AppSchema.shape.deployTimeoutMs.optional(),
  drainMs: AppSchema.shape.drainMs.optional(),
  /** How long a release phase may run (issue 15). */
  releaseTimeoutMs: AppSchema.shape.releaseTimeoutMs,
  runtime: RuntimeSchema.optional(),
  /** Merged into the app's container options; a field set to null goes back to its default. */
  container: z
    .strictObject({
      memoryMb: ContainerOptionsSchema.shape.memoryMb.unwrap().nullable().optional(),
      pids: ContainerOptionsSchema.shape.pids.unwrap().nullable().optional(),
      readOnly: ContainerOptionsSchema.shape.readOnly.unwrap().nullable().optional(),
    })
    .optional(),
  /** false (or 0 for hsts) turns it off. */
  httpsRedirect: z.boolean().optional(),
  hsts: HstsSecondsSchema.optional(),
  /** The test command every build runs before it is released (issue 15); "" removes it. */
  test: z.string().max(4000).optional(),
  /** How long a test run may take (ms); null goes back to the default (10 min). */
  testTimeoutMs: AppSchema.shape.testTimeoutMs.unwrap().nullable().optional(),
  /** CPUs reserved per instance (docs/scheduler.md); null: none. */
  cpu: CpuSchema.nullable().optional(),
  /** Node label constraints `label=value`, replacing the app's; [] removes them. */
  constraints: ConstraintsSchema.optional(),
  /** The node label to spread across; null: none. */
  spread: LabelNameSchema.nullable().optional(),
  buildArgs: z
    .array(ConfigNameSchema)
    .max(50)
    .refine((l) => new Set(l).size === l.length, "lists a name twice")
    .optional(),
});
export type AppSet = z.infer<typeof AppSetSchema>;
