/**
 * Pipeline records (src/model/pipeline.ts): read, list, save and delete, keeping the index of
 * which pipeline each stage app is in (`sys/pipeline-apps/<app>`) in the same transaction, so
 * two pipelines never both take an app.
 */
import type { AuditLog } from "../audit/log.js";
import { conflict, GantryError, notFound, ValidationError } from "../errors.js";
import { K } from "../model/keys.js";
import { PipelineSchema, stagesProblem, type Pipeline } from "../model/pipeline.js";
import type { Principal } from "../model/principal.js";
import { text, type Compare, type Store, type TxnOp } from "../store/index.js";
import { appKey } from "./keys.js";
import { kvsOf, parseAll, parseRecord, type Versioned } from "./records.js";

export const pipelineKey = (name: string): string => `${K.pipelines}${name}`;
export const pipelineAppKey = (app: string): string => `${K.pipelineApps}${app}`;

export const pipelineNotFound = (name: string) => notFound(`pipeline "${name}"`);

export async function readPipeline(
  store: Store,
  name: string,
): Promise<Versioned<Pipeline> | undefined> {
  const kv = await store.get(pipelineKey(name));
  const value = parseRecord(kv, PipelineSchema);
  return kv === undefined || value === undefined
    ? undefined
    : { value, modRevision: kv.modRevision };
}

export async function listPipelines(store: Store): Promise<Versioned<Pipeline>[]> {
  return parseAll((await store.range({ prefix: K.pipelines })).kvs, PipelineSchema);
}

/** The pipeline `app` is a stage of, if any. */
export async function pipelineOfApp(
  store: Store,
  app: string,
): Promise<Versioned<Pipeline> | undefined> {
  const kv = await store.get(pipelineAppKey(app));
  if (kv === undefined) return undefined;
  const p = await readPipeline(store, text(kv.value));
  return p?.value.stages.some((s) => s.app === app) === true ? p : undefined;
}

/**
 * Write `next` (a new pipeline when `prev` is undefined), guarded by the revision `prev` was
 * read at: every stage app must exist and be in no other pipeline. Answers 400 naming the app
 * otherwise, 409 when the pipeline changed meanwhile.
 */
export async function savePipeline(
  deps: { store: Store; audit: AuditLog },
  who: Principal,
  next: Pipeline,
  prev: Versioned<Pipeline> | undefined,
  action: string,
): Promise<Pipeline> {
  const { store } = deps;
  const record = PipelineSchema.parse(next);
  const bad = stagesProblem(record.stages);
  if (bad !== undefined) throw new ValidationError(bad.message, bad.field);
  const res = await store.txn({
    success: record.stages.flatMap((s): TxnOp[] => [
      { type: "get", range: appKey(s.app), keysOnly: true },
      { type: "get", range: pipelineAppKey(s.app) },
    ]),
  });
  const compare: Compare[] = [
    {
      key: pipelineKey(record.name),
      target: "modRevision",
      op: "==",
      value: prev?.modRevision ?? 0,
    },
  ];
  const success: TxnOp[] = [
    { type: "put", key: pipelineKey(record.name), value: JSON.stringify(record) },
    deps.audit.entry(who, action, record.name),
  ];
  for (const [i, s] of record.stages.entries()) {
    const appKv = kvsOf(res, 2 * i)[0];
    if (appKv === undefined)
      throw new ValidationError(
        `stage ${s.name}: no app named "${s.app}" (create it with: gantry apps:create ${s.app})`,
        `stages.${i}.app`,
      );
    compare.push({ key: appKey(s.app), target: "version", op: ">", value: 0 });
    const owner = kvsOf(res, 2 * i + 1)[0];
    const ownerName = owner === undefined ? undefined : text(owner.value);
    if (ownerName !== undefined && ownerName !== record.name) {
      const other = await readPipeline(store, ownerName);
      if (other?.value.stages.some((st) => st.app === s.app) === true)
        throw new ValidationError(
          `app ${s.app} is already in pipeline ${ownerName}: an app is in one pipeline at most`,
          `stages.${i}.app`,
        );
    }
    compare.push({
      key: pipelineAppKey(s.app),
      target: "modRevision",
      op: "==",
      value: owner?.modRevision ?? 0,
    });
    if (ownerName !== record.name)
      success.push({ type: "put", key: pipelineAppKey(s.app), value: record.name });
  }
  for (const s of prev?.value.stages ?? [])
    if (!record.stages.some((n) => n.app === s.app))
      success.push({ type: "delete", range: pipelineAppKey(s.app) });
  const done = await store.txn({ compare, success });
  if (!done.succeeded) {
    if (prev === undefined && (await readPipeline(store, record.name)) !== undefined)
      throw conflict(`a pipeline named "${record.name}" already exists`);
    throw conflict(`pipeline ${record.name} or one of its apps changed meanwhile; try again`);
  }
  return record;
}

/** Delete a pipeline and its index entries (its review apps are the caller's to destroy). */
export async function deletePipeline(
  deps: { store: Store; audit: AuditLog },
  who: Principal,
  name: string,
): Promise<Pipeline> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const cur = await readPipeline(deps.store, name);
    if (cur === undefined) throw pipelineNotFound(name);
    const res = await deps.store.txn({
      compare: [
        { key: pipelineKey(name), target: "modRevision", op: "==", value: cur.modRevision },
      ],
      success: [
        { type: "delete", range: pipelineKey(name) },
        ...cur.value.stages.map((s): TxnOp => ({ type: "delete", range: pipelineAppKey(s.app) })),
        deps.audit.entry(who, "pipeline.delete", name),
      ],
    });
    if (res.succeeded) return cur.value;
  }
  throw new GantryError("conflict", `pipeline ${name} is changing too fast; try again`, {
    status: 409,
  });
}
