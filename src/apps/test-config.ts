/**
 * An app's TEST config (issue 15): `config-test/<app>`, encrypted like its config but bound to
 * its own context (a value copied between scopes does not decrypt). What a build's tests run
 * with, never a release's instances; changing it makes no release.
 */
import type { AuditLog } from "../audit/log.js";
import { conflict, ValidationError } from "../errors.js";
import { AppConfigSchema, type AppConfig } from "../model/app.js";
import type { Principal } from "../model/principal.js";
import type { Store } from "../store/index.js";
import { appKey, testConfigKey } from "./keys.js";
import { appNotFound, kvsOf, parseRecord } from "./records.js";
import { configContext, type SecretBox } from "./secrets.js";

export interface TestConfigDeps {
  store: Store;
  audit: AuditLog;
  secrets: SecretBox;
}

/** The TEST config, decrypted, with its record's modRevision (0: never set). */
export async function readTestConfig(
  deps: Pick<TestConfigDeps, "store" | "secrets">,
  app: string,
): Promise<{ version: number; values: Record<string, string>; modRevision: number }> {
  const res = await deps.store.txn({
    success: [
      { type: "get", range: appKey(app), keysOnly: true },
      { type: "get", range: testConfigKey(app) },
    ],
  });
  if (kvsOf(res, 0).length === 0) throw appNotFound(app);
  const kv = kvsOf(res, 1)[0];
  const cfg = parseRecord(kv, AppConfigSchema) ?? { version: 0, values: {} };
  return {
    version: cfg.version,
    values: deps.secrets.open(app, cfg.values, "test"),
    modRevision: kv?.modRevision ?? 0,
  };
}

/** The result of a TEST config change: no release, the TEST config's own version. */
export interface TestConfigAnswer {
  changed: boolean;
  /** The TEST config's version after the change. */
  version: number;
  scope: "test";
}

/** Set and unset TEST config vars (pure): the new record, or undefined when nothing changed. */
export function applyTestChange(
  cur: AppConfig,
  plain: Record<string, string>,
  set: Record<string, string>,
  unset: readonly string[],
  seal: (name: string, value: string) => string,
): AppConfig | undefined {
  const both = unset.filter((k) => k in set);
  if (both.length > 0)
    throw new ValidationError(`${both[0]} is both set and unset`, `unset.${both[0]}`);
  const values = { ...cur.values };
  let changed = false;
  for (const [k, v] of Object.entries(set)) {
    if (plain[k] === v) continue;
    values[k] = seal(k, v);
    changed = true;
  }
  for (const k of unset) {
    if (!(k in values)) continue;
    delete values[k];
    changed = true;
  }
  return changed ? { version: cur.version + 1, values } : undefined;
}

/** Set and unset TEST config vars of `app`, compared against the app and the record. */
export async function changeTestConfig(
  deps: TestConfigDeps,
  app: string,
  set: Record<string, string>,
  unset: readonly string[],
  who: Principal,
): Promise<TestConfigAnswer> {
  const { store, secrets } = deps;
  for (let attempt = 0; attempt < 8; attempt++) {
    const res = await store.txn({
      success: [
        { type: "get", range: appKey(app), keysOnly: true },
        { type: "get", range: testConfigKey(app) },
      ],
    });
    const appKv = kvsOf(res, 0)[0];
    if (appKv === undefined) throw appNotFound(app);
    const kv = kvsOf(res, 1)[0];
    const cur = parseRecord(kv, AppConfigSchema) ?? { version: 0, values: {} };
    const plain = secrets.open(app, cur.values, "test");
    const next = applyTestChange(cur, plain, set, unset, (name, value) =>
      secrets.encrypt(value, configContext(app, name, "test")),
    );
    if (next === undefined) return { changed: false, version: cur.version, scope: "test" };
    const words = [
      ...Object.keys(set).map((k) => `set ${k}`),
      ...unset.map((k) => `unset ${k}`),
    ].join(", ");
    const put = await store.txn({
      compare: [
        { key: appKey(app), target: "modRevision", op: "==", value: appKv.modRevision },
        {
          key: testConfigKey(app),
          target: "modRevision",
          op: "==",
          value: kv?.modRevision ?? 0,
        },
      ],
      success: [
        { type: "put", key: testConfigKey(app), value: JSON.stringify(next) },
        deps.audit.entry(who, "app.config.test", `${app}: ${words}`),
      ],
    });
    if (put.succeeded) return { changed: true, version: next.version, scope: "test" };
  }
  throw conflict(`${app}'s TEST config is changing too fast; try again`);
}
