/**
 * The I/O shell of interrupted-push.ts: read an app's releases and where its repository's
 * branches point, decide, and write the outcome in one transaction guarded by what it read.
 * Called when a push ends (the git route), when a push's build request goes away, and for every
 * app when a server starts, before its controllers run and before it takes pushes.
 */
import type { AuditLog } from "../audit/log.js";
import { conflict } from "../errors.js";
import { readRef, repoId } from "../build/repo-id.js";
import { AppSchema, BuildSchema, releaseKey, type Build } from "../model/app.js";
import { K } from "../model/keys.js";
import type { Compare, Store, TxnOp } from "../store/index.js";
import { planPushRecovery, type PushRecovery } from "./interrupted-push.js";
import { appKey, buildsPrefix, configKey } from "./keys.js";
import { parseAll } from "./records.js";
import { codeOf, newRelease, nextVersion, readReleaseState } from "./releases.js";

export interface PushDeps {
  store: Store;
  audit: AuditLog;
  dataDir: string;
  /** A line for the server's log. */
  say: (line: string) => void;
  /** The apps' logs: what was abandoned also goes to the app's log (source `deploy`). */
  logs?: { append(app: string, lines: { source: string; line: string }[]): void };
}

export interface PushSettlement {
  abandoned: { version: number; reason: string }[];
  /** The release made to serve instead of an abandoned one that served. */
  restored?: number;
}

/** Who the audit log names for what recovery does. */
const GANTRY = { name: "gantry", tokenId: "" };
const ATTEMPTS = 8;
const NOTHING: PushSettlement = { abandoned: [] };

/** Abandon an app's releases whose push did not complete, restoring what served before. */
export async function settlePushes(deps: PushDeps, app: string): Promise<PushSettlement> {
  const repo = repoId(deps.dataDir, app);
  if (repo === undefined) return NOTHING;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let state;
    try {
      state = await readReleaseState(deps.store, app);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return NOTHING; // destroyed meanwhile
      throw err;
    }
    const releases = state.releases.map((r) => r.value);
    const ours = releases.filter((r) => r.push?.repo === repo);
    const current = state.app.value.currentRelease;
    const open = ours.some(
      (r) => r.status === "pending" || r.status === "deploying" || r.version === current,
    );
    if (!open) return NOTHING;
    const refs: Record<string, string> = {};
    for (const ref of new Set(ours.map((r) => r.push!.ref)))
      refs[ref] = await readRef(deps.dataDir, app, ref);
    const plan = planPushRecovery({
      app: state.app.value,
      releases,
      configVersion: state.config.value.version,
      repo: { id: repo, refs },
    });
    if (plan.abandon.length === 0) return NOTHING;

    const compare: Compare[] = [
      { key: appKey(app), target: "modRevision", op: "==", value: state.app.modRevision },
    ];
    const success: TxnOp[] = [];
    for (const a of plan.abandon) {
      const r = state.releases.find((x) => x.value.version === a.version)!;
      const key = releaseKey(app, a.version);
      compare.push({ key, target: "modRevision", op: "==", value: r.modRevision });
      const value = { ...r.value, status: "abandoned", error: a.reason };
      success.push(
        { type: "put", key, value: JSON.stringify(value) },
        deps.audit.entry(GANTRY, "app.release.abandon", `${app} v${a.version}`),
      );
    }
    const restored = restoreOps(deps, app, state, plan, compare, success);
    const res = await deps.store.txn({ compare, success });
    if (!res.succeeded) continue;
    const done: PushSettlement = {
      abandoned: plan.abandon,
      ...(restored === undefined ? {} : { restored }),
    };
    tell(deps, app, done, plan);
    return done;
  }
  throw conflict(`${app} is changing too fast to settle its pushes; try again`);
}

/** The writes of a restore (a new pending release), if the plan has one; answers its version. */
function restoreOps(
  deps: PushDeps,
  app: string,
  state: Awaited<ReturnType<typeof readReleaseState>>,
  plan: PushRecovery,
  compare: Compare[],
  success: TxnOp[],
): number | undefined {
  if (plan.restore === undefined) return undefined;
  const from = state.releases.find((r) => r.value.version === plan.restore!.from)?.value;
  const version = nextVersion(state.releases);
  const key = releaseKey(app, version);
  // The code that matches the repository, with the config as it is now: a config change made
  // meanwhile was explicit, and stays.
  const draft = { ...codeOf(from), description: plan.restore.description };
  const release = newRelease(app, version, draft, state.config.value, GANTRY);
  compare.push(
    { key: configKey(app), target: "modRevision", op: "==", value: state.config.modRevision },
    { key, target: "modRevision", op: "==", value: 0 },
  );
  success.push(
    { type: "put", key, value: JSON.stringify(release) },
    deps.audit.entry(GANTRY, "app.release.restore", `${app} v${version}`),
  );
  return version;
}

function tell(deps: PushDeps, app: string, done: PushSettlement, plan: PushRecovery): void {
  const lines = done.abandoned.map((a) => `v${a.version} abandoned: ${a.reason}`);
  if (done.restored !== undefined)
    lines.push(`v${done.restored}: ${plan.restore!.description}; deploying it`);
  for (const line of lines) deps.say(`apps: ${app}: ${line}`);
  try {
    deps.logs?.append(
      app,
      lines.map((line) => ({ source: "deploy", line })),
    );
  } catch {
    // the app's log went with apps:destroy
  }
}

/**
 * At server start: settle every app's pushes, and fail the builds of pushes into this server's
 * repositories that were still building when it stopped (nothing else will end them).
 */
export async function recoverInterruptedPushes(deps: PushDeps): Promise<void> {
  const apps = parseAll((await deps.store.range({ prefix: K.apps })).kvs, AppSchema);
  for (const { value: app } of apps) {
    try {
      await settlePushes(deps, app.name);
      await failInterruptedBuilds(deps, app.name);
    } catch (err) {
      deps.say(
        `apps: ${app.name}: could not check for an interrupted push: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}

async function failInterruptedBuilds(deps: PushDeps, app: string): Promise<void> {
  const repo = repoId(deps.dataDir, app);
  if (repo === undefined) return;
  const res = await deps.store.range({ prefix: buildsPrefix(app) });
  for (const b of parseAll(res.kvs, BuildSchema)) {
    if (b.value.status !== "building" || b.value.push?.repo !== repo) continue;
    const build: Build = {
      ...b.value,
      status: "failed",
      finishedAt: new Date().toISOString(),
      error: "interrupted: the server stopped during the build, and the push did not complete",
    };
    const key = `${buildsPrefix(app)}${build.id}`;
    await deps.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: b.modRevision }],
      success: [{ type: "put", key, value: JSON.stringify(build) }],
    });
    deps.say(`apps: ${app}: build ${build.id} failed: ${build.error}`);
  }
}
