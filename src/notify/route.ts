/**
 * Which hooks an app's event goes to: the app's own, and its pipeline's — the pipeline it is a
 * stage of, or (a review app) the one its `review.pipeline` names.
 */
import { AppSchema } from "../model/app.js";
import { K } from "../model/keys.js";
import { hookPrefix, NotifyHookSchema, type NotifyHook } from "../model/notify.js";
import { PipelineSchema } from "../model/pipeline.js";
import { text, type Store } from "../store/index.js";

const json = (raw: Uint8Array): unknown => {
  try {
    return JSON.parse(text(raw));
  } catch {
    return undefined;
  }
};

/** The pipeline an app belongs to (a stage of it, or a review app of it), if any. */
export async function pipelineOf(store: Store, app: string): Promise<string | undefined> {
  const pipes = await store.range({ prefix: K.pipelines });
  for (const kv of pipes.kvs) {
    const p = PipelineSchema.safeParse(json(kv.value));
    if (p.success && p.data.stages.some((s) => s.app === app)) return p.data.name;
  }
  const kv = await store.get(`${K.apps}${app}`);
  const a = kv === undefined ? undefined : AppSchema.safeParse(json(kv.value));
  return a?.success === true ? a.data.review?.pipeline : undefined;
}

export interface StoredHook {
  key: string;
  hook: NotifyHook;
  modRevision: number;
}

/** The hooks of one target (`app:NAME` or `pipeline:NAME`), oldest first. */
export async function hooksOf(store: Store, target: string): Promise<StoredHook[]> {
  const res = await store.range({ prefix: hookPrefix(target) });
  return res.kvs
    .flatMap((kv) => {
      const h = NotifyHookSchema.safeParse(json(kv.value));
      return h.success ? [{ key: kv.key, hook: h.data, modRevision: kv.modRevision }] : [];
    })
    .sort((a, b) => (a.hook.createdAt < b.hook.createdAt ? -1 : 1));
}

/** The hooks an event of `app` goes to, and the app's pipeline. */
export async function hooksFor(
  store: Store,
  app: string,
): Promise<{ pipeline: string | undefined; hooks: StoredHook[] }> {
  const pipeline = await pipelineOf(store, app);
  const own = await hooksOf(store, `app:${app}`);
  const theirs = pipeline === undefined ? [] : await hooksOf(store, `pipeline:${pipeline}`);
  return { pipeline, hooks: [...own, ...theirs] };
}
