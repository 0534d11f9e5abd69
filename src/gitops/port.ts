/**
 * What GitOps needs from the stack engine (src/spec), as one narrow port: the sync loop, the
 * webhook and the drift loop call these and nothing else of the engine, so the engine can grow
 * kinds and features without the loops changing.
 */
import type { GantryClient } from "../client/client.js";
import type { DriftMode } from "../model/stack.js";

export interface SyncRequest {
  /** The checkout of the commit: gantry.yaml, its states and `source:` folders. */
  dir: string;
  commit: string;
  /** The API as the applier (the pusher's token, or the one stack:connect stored). */
  client: GantryClient;
  /** Plan and apply progress, one line at a time. */
  out(line: string): void;
  /** Lines for the applier only (a created token's secret). */
  reveal(line: string): void;
  signal: AbortSignal;
}

/** What a sync did: the plan's summary line and whether anything changed. */
export interface SyncSummary {
  /** `Apply complete: 3 created, 1 updated, 0 replaced, 0 destroyed.` */
  line: string;
  changed: number;
}

/** An item whose live state differs from the spec it was last applied from. */
export interface DriftItem {
  kind: string;
  name: string;
  /** The fields that differ (`value`, `formation.web`). */
  fields: string[];
  /** The stack's drift mode, or the item's own. */
  mode: DriftMode;
  /** An app pinned by `releases:rollback`: its release is left alone. */
  pinned?: boolean;
}

export interface DriftRequest {
  dir: string;
  commit: string;
  client: GantryClient;
  signal: AbortSignal;
}

/** Where a spec does not load: every problem, as `file:line: path: message`. */
export class SpecLoadFailure extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the stack does not load (${problems.length} problem${problems.length === 1 ? "" : "s"})`,
    );
  }
}

export interface StackSyncer {
  /** Load, plan (streaming it) and apply. Throws SpecLoadFailure, or an Error when apply fails. */
  sync(req: SyncRequest): Promise<SyncSummary>;
  /** Re-plan against the live platform: the managed items that drifted (modes `off` included). */
  drift(req: DriftRequest): Promise<DriftItem[]>;
  /** Re-apply these drifted items from the spec, streaming progress. */
  correct(req: DriftRequest & { items: DriftItem[]; out(line: string): void }): Promise<void>;
}
