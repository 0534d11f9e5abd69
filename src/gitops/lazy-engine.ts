import { parseDuration } from "../model/duration.js";
import type { StackSyncer } from "./port.js";
import { SYNC_DEADLINE_MS } from "./service.js";

/**
 * The engine syncer, loaded on first use: a server that never syncs a stack never loads the
 * stack engine (its kinds, schemas and YAML reader).
 */
export function lazyEngineSyncer(): StackSyncer {
  let engine: Promise<StackSyncer> | undefined;
  const get = (): Promise<StackSyncer> =>
    (engine ??= import("./engine.js").then((m) => m.engineSyncer()));
  return {
    sync: async (req) => (await get()).sync(req),
    drift: async (req) => (await get()).drift(req),
    correct: async (req) => (await get()).correct(req),
  };
}

/** A sync's deadline: GANTRY_SYNC_DEADLINE ("30s", "10m") when set, else 10 minutes. */
export function syncDeadlineFromEnv(): number {
  const raw = process.env["GANTRY_SYNC_DEADLINE"];
  const ms = raw === undefined ? undefined : parseDuration(raw);
  return ms !== undefined && ms > 0 ? ms : SYNC_DEADLINE_MS;
}
