import { createHash } from "node:crypto";
import * as z from "zod";

/**
 * Converge by agents (docs/converge.md, "By agents"): the control plane holds one states bundle
 * (the states dir as files), each node's converge settings (roles, vars, labels), and the last
 * runs each agent reported. Keys: see K.converge* in keys.ts.
 */

/** Most bytes of one states bundle: it is one store value (the store takes 1.25 MiB). */
export const MAX_STATES_BYTES = 1_000_000;
/** Runs kept per node, newest first. */
export const RUNS_KEPT = 10;

/** A relative path inside the states dir: no absolute paths, no `..`, no empty segments. */
export const StatesPathSchema = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (p) =>
      !p.startsWith("/") &&
      !p.includes("\\") &&
      !p.includes("\0") &&
      p.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
    'must be a relative path inside the states dir (no "/" at the start, no "." or ".." segments)',
  );

/** PUT /v1/states: the states dir as relative path → UTF-8 content. */
export const StatesPushSchema = z.strictObject({
  files: z.record(StatesPathSchema, z.string()).refine((f) => Object.keys(f).length > 0, {
    message: "the states dir is empty",
  }),
});
export type StatesPush = z.infer<typeof StatesPushSchema>;

/** What `converge/states` holds. */
export const StatesBundleSchema = z.strictObject({
  files: z.record(z.string(), z.string()),
  /** sha256 of the files (see statesHash), so agents can tell a new push from an equal one. */
  hash: z.string(),
  pushedAt: z.string(),
  /** The name of the token that pushed it. */
  by: z.string(),
});
export type StatesBundle = z.infer<typeof StatesBundleSchema>;

/** The bundle without its contents: what `gantry states` shows. */
export interface StatesSummary {
  hash: string;
  /** The bundle's store modRevision. */
  modRevision: number;
  pushedAt: string;
  by: string;
  files: { path: string; bytes: number }[];
}

/** A stable hash of a states dir: sha256 over the sorted paths and contents. */
export function statesHash(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const path of Object.keys(files).sort()) {
    h.update(path).update("\0").update(files[path]!).update("\0");
  }
  return h.digest("hex");
}

export const RoleNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be letters, digits and _ . - (at most 63)");

const LabelsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, "label names: letters, digits, _ . / -"),
  z.string().max(256),
);

/** A node's converge settings (`converge/nodes/<node>`): what its agent applies. */
export const NodeConvergeSchema = z.strictObject({
  roles: z.array(RoleNameSchema).max(64).default([]),
  vars: z.record(z.string().min(1).max(128), z.unknown()).default({}),
  labels: LabelsSchema.default({}),
});
export type NodeConverge = z.infer<typeof NodeConvergeSchema>;

/** What an agent's converge run was started by. */
export const TriggerSchema = z.union([
  z.strictObject({ kind: z.literal("start") }),
  z.strictObject({ kind: z.literal("states"), hash: z.string() }),
  z.strictObject({ kind: z.literal("roles") }),
  z.strictObject({ kind: z.literal("key"), key: z.string() }),
  z.strictObject({ kind: z.literal("service"), service: z.string() }),
]);
export type Trigger = z.infer<typeof TriggerSchema>;

const ResultSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  name: z.string(),
  state: z.string(),
  handler: z.boolean(),
  status: z.enum(["ok", "changed", "failed", "skipped"]),
  changes: z.array(z.string()),
  message: z.string().optional(),
  durationMs: z.number().min(0),
});

/** One agent run, as stored under `converge/runs/<node>` (newest first, RUNS_KEPT of them). */
export const RunRecordSchema = z.strictObject({
  node: z.string(),
  /** Every change folded into this run (a queued run may coalesce several). */
  triggers: z.array(TriggerSchema).min(1).max(100),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().min(0),
  statesHash: z.string(),
  roles: z.array(z.string()),
  summary: z
    .strictObject({
      ok: z.int().min(0),
      changed: z.int().min(0),
      failed: z.int().min(0),
      skipped: z.int().min(0),
    })
    .optional(),
  /** Per resource, without diffs (they may be large; the engine redacted the rest). */
  resources: z.array(ResultSchema).max(10_000).default([]),
  /** Keys and services the run read: the agent watches them for the next run. */
  reads: z
    .strictObject({ keys: z.array(z.string()), services: z.array(z.string()) })
    .default({ keys: [], services: [] }),
  /** The run could not start or stopped: an invalid state, an unreachable server. */
  error: z.strictObject({ code: z.string(), message: z.string() }).optional(),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

/** Human form of a trigger: `key app/port`, `states 1a2b3c4d`. */
export function formatTrigger(t: Trigger): string {
  switch (t.kind) {
    case "key":
      return `key ${t.key}`;
    case "service":
      return `service ${t.service}`;
    case "states":
      return `states ${t.hash.slice(0, 8)}`;
    default:
      return t.kind;
  }
}
