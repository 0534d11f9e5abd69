import type { Principal } from "../model/principal.js";
import type { AuditLog } from "../audit/log.js";
import { GantryError } from "../errors.js";
import {
  AppConfigSchema,
  AppSchema,
  releaseKey,
  ReleaseSchema,
  type App,
  type AppConfig,
  type PushOrigin,
  type Release,
} from "../model/app.js";
import type { Compare, Store, TxnOp } from "../store/index.js";
import { appKey, configKey, releasesPrefix } from "./keys.js";
import { codeFields, type ReleaseCode } from "./release-code.js";
import { appNotFound, kvsOf, parseAll, parseRecord, type Versioned } from "./records.js";

/** What a release change sees: the app, its config and its releases, from one revision. */
export interface ReleaseState {
  app: Versioned<App>;
  config: Versioned<AppConfig>;
  releases: Versioned<Release>[];
}

/** What goes into a new release besides its config (which is the config record after the change). */
export interface ReleaseDraft extends ReleaseCode {
  processTypes: Record<string, string>;
  description: string;
  /** The push its code came from, while that ties it (see Release.push). */
  push?: PushOrigin;
  /** Where a promoted release came from (src/apps/promote.ts). */
  promotedFrom?: Release["promotedFrom"];
}

export interface ReleaseChange {
  draft: ReleaseDraft;
  /** The config record to write with it (default: unchanged). */
  config?: AppConfig;
  /** The audit action, e.g. `app.config`. */
  action: string;
  /** A change of the app record written with it (a rollback's pin), under the same guard. */
  app?: (app: App) => App;
  /** More writes that go with it (a promotion's copy of the build record). */
  ops?: TxnOp[];
}

const ATTEMPTS = 8;

/**
 * The newest release that did not fail and was not abandoned: what the next one builds on
 * (code, process types, and the push that code came from).
 */
export function baseRelease(releases: readonly Versioned<Release>[]): Release | undefined {
  let best: Release | undefined;
  for (const r of releases)
    if (
      r.value.status !== "failed" &&
      r.value.status !== "abandoned" &&
      (best === undefined || r.value.version > best.version)
    )
      best = r.value;
  return best;
}

/** The code of a release as a draft for the next one (a config change, a restore). */
export function codeOf(base: Release | undefined): Omit<ReleaseDraft, "description"> {
  return {
    ...codeFields(base),
    processTypes: base?.processTypes ?? {},
    ...(base?.push === undefined ? {} : { push: base.push }),
  };
}

/** A new pending release record. */
export function newRelease(
  app: string,
  version: number,
  draft: ReleaseDraft,
  config: AppConfig,
  who: { name: string },
): Release {
  return {
    app,
    version,
    ...codeFields(draft),
    processTypes: draft.processTypes,
    configVersion: config.version,
    config: config.values,
    description: draft.description.slice(0, 500),
    createdAt: new Date().toISOString(),
    createdBy: who.name,
    status: "pending",
    ...(draft.push === undefined ? {} : { push: draft.push }),
    ...(draft.promotedFrom === undefined ? {} : { promotedFrom: draft.promotedFrom }),
  };
}

/** The version the next release of these gets. */
export const nextVersion = (releases: readonly Versioned<Release>[]): number =>
  Math.max(0, ...releases.map((r) => r.value.version)) + 1;

/** Read the app, its config and releases in one transaction. */
export async function readReleaseState(store: Store, app: string): Promise<ReleaseState> {
  const res = await store.txn({
    success: [
      { type: "get", range: appKey(app) },
      { type: "get", range: configKey(app) },
      { type: "get", range: { prefix: releasesPrefix(app) } },
    ],
  });
  const [appKv] = kvsOf(res, 0);
  const appRec = parseRecord(appKv, AppSchema);
  if (appKv === undefined || appRec === undefined) throw appNotFound(app);
  const [configKv] = kvsOf(res, 1);
  const config = parseRecord(configKv, AppConfigSchema) ?? { version: 0, values: {} };
  return {
    app: { value: appRec, modRevision: appKv.modRevision },
    config: { value: config, modRevision: configKv?.modRevision ?? 0 },
    releases: parseAll(kvsOf(res, 2), ReleaseSchema),
  };
}

/**
 * Make the next release (v N+1, status pending) from what `change` decides given the current
 * state, together with its config record and an audit entry, in one transaction guarded by the
 * revisions it was decided from; a concurrent change makes it decide again. `change` returning
 * undefined means there is nothing to release. Answers the new version.
 */
export async function createRelease(
  store: Store,
  audit: AuditLog,
  who: Principal,
  app: string,
  change: (state: ReleaseState) => ReleaseChange | undefined,
): Promise<Release | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const state = await readReleaseState(store, app);
    const decided = change(state);
    if (decided === undefined) return undefined;
    const config = decided.config ?? state.config.value;
    const version = nextVersion(state.releases);
    const release = newRelease(app, version, decided.draft, config, who);
    const key = releaseKey(app, version);
    const compare: Compare[] = [
      { key: appKey(app), target: "modRevision", op: "==", value: state.app.modRevision },
      { key: configKey(app), target: "modRevision", op: "==", value: state.config.modRevision },
      { key, target: "modRevision", op: "==", value: 0 },
    ];
    const success: TxnOp[] = [
      { type: "put", key, value: JSON.stringify(release) },
      audit.entry(who, decided.action, `${app} v${version}`),
    ];
    if (decided.config !== undefined)
      success.push({ type: "put", key: configKey(app), value: JSON.stringify(decided.config) });
    if (decided.app !== undefined) {
      const next = AppSchema.parse(decided.app(state.app.value));
      success.push({ type: "put", key: appKey(app), value: JSON.stringify(next) });
    }
    if (decided.ops !== undefined) success.push(...decided.ops);
    const res = await store.txn({ compare, success });
    if (res.succeeded) return release;
  }
  throw new GantryError("conflict", `${app} is changing too fast to make a release; try again`, {
    status: 409,
  });
}
