/**
 * The plug-in point of the stack engine (docs/stack.md): everything the engine knows about a
 * section of `gantry.yaml` (apps, kv, services, roles, nodes, tokens; later pools, pipelines,
 * certs…) comes through one `Kind`. The engine itself names no kind.
 */
import type { ZodType } from "zod";
import type { GantryClient } from "../client/client.js";

/** One field that differs between the spec and the live platform (`formation.web`: 1 → 2). */
export interface FieldChange {
  path: string;
  old?: unknown;
  new?: unknown;
  /** Values never printed: plans show `(sensitive)`. */
  sensitive?: boolean;
  /** A change of this field cannot be made in place: the item is replaced. */
  forcesReplace?: boolean;
  /**
   * Shown in the plan, never applied, and no change by itself: what the stack waits for or
   * leaves alone (a secret still to be set by hand, a pinned app's release, a node that has not
   * joined). An item whose fields are all `info` is a no-op.
   */
  info?: boolean;
  /**
   * The change comes from a file the spec names (an app's `source:` folder, the states folder)
   * that changed since the stack last applied it: intended, never drift, even though
   * gantry.yaml itself did not change.
   */
  fromFiles?: boolean;
}

/** What an item of the live platform looks like to the engine. */
export interface LiveItem<L = unknown> {
  name: string;
  value: L;
  /**
   * Store revisions this reading depends on (e.g. the KV key's modRevision, the app record's):
   * a saved plan keeps them, and apply refuses the plan as stale if any moved.
   */
  revisions: Record<string, number>;
}

/** Where a spec item came from, for `file:line: path: message` errors. */
export interface SpecItem<S = unknown> {
  kind: string;
  name: string;
  spec: S;
  /** `gantry.yaml:12` */
  at: string;
  /** Per-item overrides of the stack's settings. */
  protect?: boolean;
  drift?: "correct" | "warn" | "off";
}

/** A reference from one item to another (`state:web` from `role:web`). */
export interface ItemRef {
  kind: string;
  name: string;
}

/** What a kind can use while loading, reading and applying. */
export interface KindContext {
  /** The API, as the person (or the push's token) applying the stack. */
  client: GantryClient;
  /** The stack folder on disk (for `source:` folders, `states:`). */
  dir: string;
  /** Progress for long work (an app deploy's lines). */
  progress: (line: string) => void;
  /** Lines shown once to the applier and nowhere else (a created token's secret). */
  reveal: (line: string) => void;
  signal?: AbortSignal;
  /** The stack being applied (`stack.name` in gantry.yaml). */
  stack?: { name: string };
}

/** A problem found while loading the spec: the engine adds file:line. */
export interface SpecProblem {
  /** Path inside the item (`formation.web`), "" for the item itself. */
  path: string;
  message: string;
}

export interface Kind<S = unknown, L = unknown> {
  /** Singular name used in plans and refs: `app`, `kv`, `service`, `role`, `node`, `token`. */
  readonly name: string;
  /** The top-level section of gantry.yaml: `apps`, `kv`, `services`, … */
  readonly section: string;
  /** Lower runs first on create/update, last on destroy (refs order within a rank). */
  readonly rank: number;
  /** The schema of one item's spec (unknown fields are errors: use strict objects). */
  readonly schema: ZodType<S>;
  /** Checks that need the folder or other items (a missing `source` folder, a duplicate domain). */
  check?(items: SpecItem<S>[], all: SpecItem[], ctx: { dir: string }): Map<string, SpecProblem[]>;
  /**
   * Optional: load what `check`, `read` or `diff` need that is costly to load (the converge
   * loader), only when the stack has items of this kind. `loadStack` awaits it before the
   * checks; tests that call `parseStack` directly call it themselves.
   */
  preload?(): Promise<void>;
  /** The items this one needs to exist first. */
  refs?(item: SpecItem<S>): ItemRef[];
  /**
   * A top-level section listing name prefixes the stack owns whole (kv's `kvPrefixes`): live
   * items under them that the spec does not declare are planned as orphans. Needs `read` to
   * honour `opts.prefixes`.
   */
  readonly prefixSection?: string;
  /**
   * Top-level keys of gantry.yaml that are each one item of this kind, named as the key
   * (`states: ./states` is the `converge` kind's item `states`): the short form users write.
   */
  readonly topLevel?: readonly string[];
  /**
   * Read the live state of these names (spec items and the names the stack's ownership records
   * hold), plus every live item under `opts.prefixes` when the kind has a `prefixSection`. One
   * range read per kind, not one request per item: plans of 1,000 items must stay fast.
   */
  read(
    ctx: KindContext,
    names: string[],
    opts?: { prefixes?: string[] },
  ): Promise<Map<string, LiveItem<L>>>;
  /** Field-by-field difference; [] = no change. `live` undefined = create. */
  diff(
    item: SpecItem<S>,
    live: LiveItem<L> | undefined,
    ctx: KindContext,
  ): Promise<FieldChange[]> | FieldChange[];
  create(ctx: KindContext, item: SpecItem<S>): Promise<void>;
  update(
    ctx: KindContext,
    item: SpecItem<S>,
    live: LiveItem<L>,
    changes: FieldChange[],
  ): Promise<void>;
  destroy(ctx: KindContext, name: string, live: LiveItem<L>): Promise<void>;
  /**
   * Optional: apply several steps of this kind in few requests (1,000 kv keys in a few
   * transactions). The engine calls it with up to `batchSize` steps (default 64) that do not
   * depend on each other; it must apply all of them or throw.
   */
  applyBatch?(ctx: KindContext, steps: ApplyStep<S, L>[]): Promise<void>;
  readonly batchSize?: number;
}

/** One change the engine asks a kind to make (see `applyBatch`). */
export type ApplyStep<S = unknown, L = unknown> =
  | { action: "create"; item: SpecItem<S> }
  | { action: "update"; item: SpecItem<S>; live: LiveItem<L>; changes: FieldChange[] }
  | { action: "destroy"; name: string; live: LiveItem<L> };
