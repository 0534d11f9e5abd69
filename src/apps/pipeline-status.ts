/**
 * What each stage of a pipeline serves (`gantry pipelines NAME`, `GET /v1/pipelines/:name`): its
 * current release, that release's artifact or image, where it was promoted from, and whether
 * it is behind the stage before it (it does not run that stage's code).
 */
import { AppSchema, releaseKey, ReleaseSchema, type Release } from "../model/app.js";
import { pipelineView, type Pipeline, type PipelineView } from "../model/pipeline.js";
import type { Store, TxnOp } from "../store/index.js";
import { appKey } from "./keys.js";
import { kvsOf, parseRecord } from "./records.js";

export interface StageStatus {
  name: string;
  app: string;
  /** The app no longer exists. */
  missing?: true;
  /** The release it serves (0: none yet). */
  release: number;
  artifact?: string;
  image?: string;
  promotedFrom?: Release["promotedFrom"];
  /** Not running the previous stage's artifact or image (absent on the first stage). */
  behind?: boolean;
}

/** A pipeline as the API shows it: its stages with what each serves. */
export type PipelineStatus = Omit<PipelineView, "stages"> & { stages: StageStatus[] };

/** The code a stage runs, comparable across apps. */
const codeId = (s: StageStatus): string | undefined => s.image ?? s.artifact;

/** Pure: stage statuses from each stage's app and current release (undefined: none). */
export function stageStatuses(
  pipeline: Pipeline,
  read: readonly { exists: boolean; release: Release | undefined }[],
): StageStatus[] {
  const out: StageStatus[] = [];
  for (const [i, stage] of pipeline.stages.entries()) {
    const r = read[i];
    const rel = r?.release;
    const s: StageStatus = {
      name: stage.name,
      app: stage.app,
      ...(r?.exists === true ? {} : { missing: true as const }),
      release: rel?.version ?? 0,
      ...(rel?.artifact === undefined ? {} : { artifact: rel.artifact }),
      ...(rel?.image === undefined ? {} : { image: rel.image }),
      ...(rel?.promotedFrom === undefined ? {} : { promotedFrom: rel.promotedFrom }),
    };
    const prev = out[i - 1];
    if (prev !== undefined) s.behind = codeId(prev) !== undefined && codeId(prev) !== codeId(s);
    out.push(s);
  }
  return out;
}

/** Read every stage's app and current release (two transactions) and describe the pipeline. */
export async function pipelineStatus(store: Store, pipeline: Pipeline): Promise<PipelineStatus> {
  const apps = await store.txn({
    success: pipeline.stages.map((s): TxnOp => ({ type: "get", range: appKey(s.app) })),
  });
  const records = pipeline.stages.map((_, i) => parseRecord(kvsOf(apps, i)[0], AppSchema));
  const rels = await store.txn({
    success: pipeline.stages.map(
      (s, i): TxnOp => ({ type: "get", range: releaseKey(s.app, records[i]?.currentRelease ?? 0) }),
    ),
  });
  const read = records.map((a, i) => ({
    exists: a !== undefined,
    release:
      a === undefined || a.currentRelease === 0
        ? undefined
        : parseRecord(kvsOf(rels, i)[0], ReleaseSchema),
  }));
  return { ...pipelineView(pipeline), stages: stageStatuses(pipeline, read) };
}
