import { assignmentCode, hasCode } from "./release-code.js";
import { oneoffAssignment } from "./oneoff-assignment.js";
import { randomBytes } from "node:crypto";
import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import { conflict } from "../errors.js";
import {
  AppSchema,
  AssignmentSchema,
  releaseKey,
  ReleaseSchema,
  type App,
  type Assignment,
} from "../model/app.js";
import type { RunAnswer } from "../model/app-views.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { instanceName } from "./formation.js";
import { appKey, assignmentKey } from "./keys.js";
import { appNotFound, kvsOf, parseAll, parseRecord } from "./records.js";

/** A random 4-character suffix that keeps assignment ids unique. */
export const idSuffix = (): string => randomBytes(2).toString("hex");

/** argv as one shell command line (Procfile commands and one-offs run through `sh -c`). */
export function shellJoin(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}

/**
 * What a one-off runs, decided from the app record as read in the placing transaction: its
 * process type (`run`, `test`, `release`, `cron`), release (0: none yet), code and command.
 */
export type OneoffDraft = Pick<
  Assignment,
  "processType" | "release" | "command" | "artifact" | "image" | "runtime" | "container"
> &
  Partial<Pick<Assignment, "config" | "build">> & {
    /** The audit entry's action and detail prefix (the instance name is appended). */
    action: string;
  };

/**
 * Place a one-off instance on the least busy live node and write its assignment (kind
 * `oneoff`), compared against the app record so a destroyed or changed app is not run on.
 * Its output is logged under the source `<processType>.<index>`; its exit code appears in its
 * instance status. The deploy controller removes it a minute after it ends. `gantry run`,
 * a build's tests (src/api/build-test.ts) and other one-offs share this.
 */
export async function placeOneoff(
  store: Store,
  audit: AuditLog,
  who: Principal,
  app: string,
  draft: (rec: App) => Promise<OneoffDraft>,
): Promise<RunAnswer> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const res = await store.txn({
      success: [
        { type: "get", range: appKey(app) },
        { type: "get", range: { prefix: K.assignments } },
        { type: "get", range: { prefix: K.nodes }, keysOnly: true },
      ],
    });
    const appKv = kvsOf(res, 0)[0];
    const rec = parseRecord(appKv, AppSchema);
    if (appKv === undefined || rec === undefined) throw appNotFound(app);
    const { action, ...d } = await draft(rec);
    const running = parseAll(kvsOf(res, 1), AssignmentSchema)
      .map((a) => a.value)
      .filter((a) => a.desired === "running");
    const nodes = kvsOf(res, 2).map((kv) => kv.key.slice(K.nodes.length));
    const createdAt = new Date().toISOString();
    const a = oneoffAssignment({
      app,
      rec,
      running,
      nodes,
      spec: d,
      createdAt,
      suffix: idSuffix(),
    });
    if (a === undefined) throw conflict("there is no live node to run the command on");
    const node = a.node;
    const key = assignmentKey(node, a.id);
    const put = await store.txn({
      compare: [
        { key: appKey(app), target: "modRevision", op: "==", value: appKv.modRevision },
        { key, target: "modRevision", op: "==", value: 0 },
      ],
      success: [
        { type: "put", key, value: JSON.stringify(a) },
        audit.entry(who, action, `${app} ${instanceName(a)}`),
      ],
    });
    if (put.succeeded)
      return { id: a.id, source: instanceName(a), release: a.release, node, createdAt };
  }
  throw conflict(`${app} is changing too fast; try again`);
}

/**
 * `gantry run`: a one-off instance of the current release (its artifact and config) on the
 * least busy live node, logged under the source `run.<index>`.
 */
export function startOneoff(
  store: Store,
  audit: AuditLog,
  who: Principal,
  app: string,
  command: readonly string[],
): Promise<RunAnswer> {
  return placeOneoff(store, audit, who, app, async (rec) => {
    const rel =
      rec.currentRelease === 0
        ? undefined
        : parseRecord(await store.get(releaseKey(app, rec.currentRelease)), ReleaseSchema);
    if (rel === undefined || !hasCode(rel))
      throw conflict(`${app} has no running release to run a command with: push code first`);
    return {
      processType: "run",
      release: rel.version,
      ...assignmentCode(rel, rec),
      command: shellJoin(command),
      action: "app.run",
    };
  });
}
