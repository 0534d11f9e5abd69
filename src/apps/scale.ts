/**
 * `ps:scale`: a change of the formation, written with a scaling record (`scales/<app>`) that the
 * deploy controller carries on — its progress, what it waits for, its outcome — and that
 * `ps:scale` follows until the new formation runs (issue 19: a scaling is never silent).
 */
import { randomBytes } from "node:crypto";
import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import { ValidationError, conflict } from "../errors.js";
import { AppSchema, ONEOFF_TYPES, type App, type Formation, type Scale } from "../model/app.js";
import type { Store } from "../store/index.js";
import { effectiveFormation, formationText } from "./formation.js";
import { appKey, scaleKey } from "./keys.js";
import { baseRelease, readReleaseState } from "./releases.js";

const ATTEMPTS = 8;

/**
 * Merge `changes` into the app's formation; the types must exist in the release that serves (or
 * the one that will). Answers the app, and the scaling to follow when anything changed.
 */
export async function scaleApp(
  store: Store,
  audit: AuditLog,
  name: string,
  changes: Formation,
  who: Principal,
): Promise<{ app: App; scale?: Scale }> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const state = await readReleaseState(store, name);
    const app = state.app.value;
    const current = state.releases.find((r) => r.value.version === app.currentRelease)?.value;
    const base = current ?? baseRelease(state.releases);
    if (base === undefined || Object.keys(base.processTypes).length === 0)
      throw conflict(`${name} has no release with process types yet: push code first`);
    for (const type of Object.keys(changes))
      if (ONEOFF_TYPES.has(type)) throw notScalable(name, type);
      else if (!(type in base.processTypes))
        throw new ValidationError(
          `${name} has no process type "${type}" (v${base.version} has ${Object.keys(base.processTypes).join(", ")})`,
          type,
        );
    const next = AppSchema.parse({ ...app, formation: { ...app.formation, ...changes } });
    const before = effectiveFormation(app.formation, base.processTypes);
    const after = effectiveFormation(next.formation, base.processTypes);
    if (formationText(before) === formationText(after)) return { app };
    const scale: Scale = {
      app: name,
      id: randomBytes(6).toString("hex"),
      changes,
      status: "running",
      startedAt: new Date().toISOString(),
      log: [`scaling ${name} to ${formationText(after)}`],
    };
    const res = await store.txn({
      compare: [
        { key: appKey(name), target: "modRevision", op: "==", value: state.app.modRevision },
      ],
      success: [
        { type: "put", key: appKey(name), value: JSON.stringify(next) },
        { type: "put", key: scaleKey(name), value: JSON.stringify(scale) },
        audit.entry(who, "app.scale", name),
      ],
    });
    if (res.succeeded) return { app: next, scale };
  }
  throw conflict(`${name} is changing too fast; try again`);
}

/** What each one-off type is for instead: they run once, never as part of the formation. */
const ONEOFF_USE: Record<string, string> = {
  release: "runs once per release, before its instances start (the release phase)",
  test: "runs once per build, before it is released",
  run: "is what `gantry run APP -- COMMAND` starts, once",
  cron: "runs on a schedule (`gantry cron:add`)",
};

function notScalable(app: string, type: string): ValidationError {
  const use = ONEOFF_USE[type] ?? "runs once, as a one-off";
  return new ValidationError(
    `"${type}" cannot be scaled: it ${use}, never as part of ${app}'s formation; scale web or a worker type instead`,
    type,
  );
}
