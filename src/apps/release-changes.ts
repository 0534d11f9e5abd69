import type { AuditLog } from "../audit/log.js";
import { notFound, ValidationError } from "../errors.js";
import type { ReleaseAnswer } from "../model/app-views.js";
import type { Principal } from "../model/principal.js";
import type { Store } from "../store/index.js";
import { readApp } from "./records.js";
import { codeFields } from "./release-code.js";
import { baseRelease, codeOf, createRelease, readReleaseState } from "./releases.js";
import { configContext, type SecretBox } from "./secrets.js";

/** What the release changes a person asks for (config, rollback) work with. */
export interface ReleaseChangeDeps {
  store: Store;
  audit: AuditLog;
  secrets: SecretBox;
}

/** The app's config, decrypted, with the config record's modRevision (0: never set). */
export async function readConfig(
  deps: Pick<ReleaseChangeDeps, "store" | "secrets">,
  name: string,
): Promise<{ version: number; values: Record<string, string>; modRevision: number }> {
  const state = await readReleaseState(deps.store, name);
  const cfg = state.config.value;
  return {
    version: cfg.version,
    values: deps.secrets.open(name, cfg.values),
    modRevision: state.config.modRevision,
  };
}

/** Set and unset config vars: a new release when anything changed. */
export async function changeConfig(
  deps: ReleaseChangeDeps,
  name: string,
  set: Record<string, string>,
  unset: string[],
  who: Principal,
): Promise<ReleaseAnswer> {
  const { store, audit, secrets } = deps;
  const both = unset.filter((k) => k in set);
  if (both.length > 0)
    throw new ValidationError(`${both[0]} is both set and unset`, `unset.${both[0]}`);
  const made = await createRelease(store, audit, who, name, (state) => {
    const sealed = { ...state.config.value.values };
    const plain = secrets.open(name, sealed);
    const changed: string[] = [];
    for (const [k, v] of Object.entries(set)) {
      if (plain[k] === v) continue;
      sealed[k] = secrets.encrypt(v, configContext(name, k));
      changed.push(k);
    }
    const removed = unset.filter((k) => k in sealed);
    for (const k of removed) delete sealed[k];
    if (changed.length === 0 && removed.length === 0) return undefined;
    const base = baseRelease(state.releases);
    const words = [
      ...(changed.length > 0 ? [`Set ${changed.join(", ")}`] : []),
      ...(removed.length > 0 ? [`Unset ${removed.join(", ")}`] : []),
    ];
    return {
      action: "app.config",
      config: { version: state.config.value.version + 1, values: sealed },
      // On code from a push, it is tied to that push too (docs/apps.md, "An interrupted push").
      draft: { ...codeOf(base), description: words.join("; ") },
    };
  });
  if (made !== undefined) return { changed: true, version: made.version };
  const app = await readApp(store, name);
  return { changed: false, version: app.value.currentRelease };
}

/** A new release with an old one's code and config (the config record follows), pinned. */
export async function rollback(
  deps: Pick<ReleaseChangeDeps, "store" | "audit">,
  name: string,
  version: number,
  who: Principal,
): Promise<ReleaseAnswer> {
  const made = await createRelease(deps.store, deps.audit, who, name, (state) => {
    const target = state.releases.find((r) => r.value.version === version)?.value;
    if (target === undefined) throw notFound(`release v${version} of ${name}`);
    return {
      action: "app.rollback",
      app: (app) => ({
        ...app,
        pinned: { release: version, by: who.name, at: new Date().toISOString() },
      }),
      config: { version: state.config.value.version + 1, values: target.config },
      draft: {
        ...codeFields(target),
        processTypes: target.processTypes,
        description: `Rollback to v${version}`,
      },
    };
  });
  return { changed: true, version: made!.version };
}
