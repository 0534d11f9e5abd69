import type { ZodType } from "zod";
import { notFound } from "../errors.js";
import { AppSchema, type App, type Release } from "../model/app.js";
import type { ReleaseView } from "../model/app-views.js";
import { text, type KeyValue, type Store, type TxnResult } from "../store/index.js";
import { appKey } from "./keys.js";

/** A record and the modRevision it was read at (0: absent). */
export interface Versioned<T> {
  value: T;
  modRevision: number;
}

/** A stored record checked against its schema; undefined when absent or damaged. */
export function parseRecord<T>(kv: KeyValue | undefined, schema: ZodType<T>): T | undefined {
  if (kv === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text(kv.value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Every valid record of a list of key-values, with its modRevision. */
export function parseAll<T>(kvs: readonly KeyValue[], schema: ZodType<T>): Versioned<T>[] {
  const out: Versioned<T>[] = [];
  for (const kv of kvs) {
    const value = parseRecord(kv, schema);
    if (value !== undefined) out.push({ value, modRevision: kv.modRevision });
  }
  return out;
}

/** The key-values of the i-th get of a transaction. */
export function kvsOf(res: TxnResult, i: number): KeyValue[] {
  const r = res.results[i];
  return r?.type === "get" ? r.kvs : [];
}

/** An app, or 404 naming it. */
export async function readApp(store: Store, app: string): Promise<Versioned<App>> {
  const kv = await store.get(appKey(app));
  const value = parseRecord(kv, AppSchema);
  if (kv === undefined || value === undefined) throw appNotFound(app);
  return { value, modRevision: kv.modRevision };
}

export const appNotFound = (app: string) => notFound(`app "${app}"`);

/** A release as the API shows it: config names, never values. */
export function releaseView(r: Release): ReleaseView {
  const { config, ...rest } = r;
  return { ...rest, configNames: Object.keys(config).sort() };
}
