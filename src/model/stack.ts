import * as z from "zod";
import { K } from "./keys.js";
import { DriftSchema, ItemNameSchema, KindNameSchema } from "./stack-names.js";

/**
 * The stack's records in the Store (docs/stack.md): one ownership record per item the stack
 * manages, at `stack/items/<kind>/<name>`, and the stack's status at `stack/info`. Shared by the
 * API routes, the client and the stack engine.
 */

export {
  DRIFT_MODES,
  DriftSchema,
  ItemNameSchema,
  KindNameSchema,
  type DriftMode,
} from "./stack-names.js";

/** What a client sends for one item after applying it (the server adds who and when). */
export const OwnershipInputSchema = z.strictObject({
  kind: KindNameSchema,
  name: ItemNameSchema,
  /** The stack's name (gantry.yaml `stack.name`). */
  stack: z.string().max(128),
  /** The git commit the spec came from, when known. */
  commit: z.string().max(64).optional(),
  /** Never destroyed by the stack, even once gone from the spec. */
  protect: z.boolean(),
  drift: DriftSchema.optional(),
  /** A hash of the item's spec as last applied: a diff while it is unchanged is drift. */
  specHash: z.string().max(128),
});
export type OwnershipInput = z.infer<typeof OwnershipInputSchema>;

export const OwnershipRecordSchema = OwnershipInputSchema.extend({
  appliedAt: z.string(),
  appliedBy: z.string(),
});
export type OwnershipRecord = z.infer<typeof OwnershipRecordSchema> & {
  /** The record's store revision (as read; not stored). */
  modRevision?: number;
};

/** One batch of record changes: applied in one transaction when it fits one. */
export const OwnershipBatchSchema = z.strictObject({
  put: z.array(OwnershipInputSchema).max(10_000).default([]),
  delete: z
    .array(z.strictObject({ kind: KindNameSchema, name: ItemNameSchema }))
    .max(10_000)
    .default([]),
});
export type OwnershipBatch = z.input<typeof OwnershipBatchSchema>;

/** The store key of an item's ownership record. */
export const ownershipKey = (kind: string, name: string): string =>
  `${K.stackItems}${kind}/${name}`;

/**
 * The plan an apply carried out, as the dashboard shows it (src/spec/plan-record.ts makes it):
 * items that change, each field's values as text, sensitive ones without their values.
 */
export const PlanRecordSchema = z.strictObject({
  summary: z.strictObject({
    create: z.number().int().min(0),
    update: z.number().int().min(0),
    replace: z.number().int().min(0),
    destroy: z.number().int().min(0),
    orphan: z.number().int().min(0),
  }),
  changes: z
    .array(
      z.strictObject({
        kind: z.string().max(64),
        name: z.string().max(1100),
        action: z.string().max(16),
        note: z.string().max(256).optional(),
        drift: z.boolean().optional(),
        fields: z
          .array(
            z.strictObject({
              path: z.string().max(256),
              old: z.string().max(256).optional(),
              new: z.string().max(256).optional(),
              sensitive: z.boolean().optional(),
            }),
          )
          .max(100),
        /** Fields left out to keep the record small. */
        moreFields: z.number().int().min(0).optional(),
      }),
    )
    .max(1000),
  /** Changed items left out to keep the record small. */
  moreChanges: z.number().int().min(0).optional(),
});
export type PlanRecord = z.infer<typeof PlanRecordSchema>;

/** The outcome of the last apply, as `stack:info` shows it. */
export const ApplyOutcomeSchema = z.strictObject({
  at: z.string(),
  by: z.string(),
  commit: z.string().max(64).optional(),
  result: z.enum(["ok", "failed"]),
  created: z.number().int().min(0),
  updated: z.number().int().min(0),
  replaced: z.number().int().min(0),
  destroyed: z.number().int().min(0),
  /** What failed, when it did. */
  message: z.string().max(4096).optional(),
  /** The plan it carried out (absent when recorded by an older Gantry). */
  plan: PlanRecordSchema.optional(),
});
export type ApplyOutcome = z.infer<typeof ApplyOutcomeSchema>;

/**
 * `stack/info`: what `gantry stack:info` prints. The GitOps parts (gitUrl, branch, path, commit,
 * state, drift, lastSync) are written by the sync loop; `lastApply` by every apply.
 */
export const StackInfoSchema = z.strictObject({
  name: z.string().max(128).optional(),
  gitUrl: z.string().max(2048).optional(),
  branch: z.string().max(256).optional(),
  path: z.string().max(1024).optional(),
  /** The commit the live platform was last synced to. */
  commit: z.string().max(64).optional(),
  state: z.string().max(64).optional(),
  /** Items that differ from the spec though the spec did not change (hand edits). */
  drift: z
    .strictObject({
      checkedAt: z.string(),
      /** `kind/name` of each drifted item. */
      items: z.array(z.string().max(1100)).max(10_000),
      /** Per drifted item (`kind/name`): the fields that differ. */
      fields: z.record(z.string(), z.array(z.string().max(256)).max(100)).optional(),
      /** Drifted items the loop re-applies (`drift: correct`); the others are only shown. */
      correcting: z.array(z.string().max(1100)).max(10_000).optional(),
      /** Apps pinned by a rollback: their release is left alone. */
      pinned: z.array(z.string().max(1100)).max(10_000).optional(),
      /** Corrections made since the loop started on this server. */
      corrections: z.number().int().min(0).optional(),
    })
    .optional(),
  lastSync: z
    .strictObject({
      at: z.string(),
      commit: z.string().max(64).optional(),
      result: z.string().max(64),
      message: z.string().max(4096).optional(),
    })
    .optional(),
  lastApply: ApplyOutcomeSchema.optional(),
});
export type StackInfo = z.infer<typeof StackInfoSchema>;

/** PUT /v1/stack/info: the fields to set (others are kept; null removes one). */
export const StackInfoPatchSchema = z.record(z.string(), z.unknown());
