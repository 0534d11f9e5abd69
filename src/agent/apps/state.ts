import { existsSync, readFileSync, renameSync } from "node:fs";
import * as z from "zod";
import { AssignmentSchema } from "../../model/app.js";
import { writeFileAtomic } from "../../fsutil/write-atomic.js";

const TaskHandleSchema = z.object({
  driver: z.string(),
  id: z.string(),
  /** 0: a container that had ended before its pid could be read. */
  pid: z.number().int().min(0),
  startedAt: z.string(),
  container: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

/**
 * What the agent remembers of an instance across its own restarts: enough to find the process
 * again (driver handle) and to keep supervising it before the server answers (the assignment).
 * Never the environment: config values stay out of the agent's files.
 */
export const SavedInstanceSchema = z.object({
  assignment: AssignmentSchema,
  handle: TaskHandleSchema.optional(),
  port: z.number().int().min(1).max(65535).optional(),
  restarts: z.number().int().min(0),
  /** How far its output file has been read (and shipped). */
  logOffset: z.number().int().min(0),
  /** A one-off that ended: it is never run again. */
  exited: z.object({ exitCode: z.number().int().nullable() }).optional(),
});
export type SavedInstance = z.infer<typeof SavedInstanceSchema>;

const StateSchema = z.object({
  version: z.literal(1),
  node: z.string(),
  instances: z.array(SavedInstanceSchema),
  /** Instance ports given back most recently, oldest first: reused last after a restart. */
  releasedPorts: z.array(z.number().int().min(1).max(65535)).max(4096).optional(),
});

/** What state.json holds. */
export interface AgentState {
  instances: SavedInstance[];
  releasedPorts: number[];
}

/**
 * `AGENT_DATA/state.json`. An unreadable file is moved aside (and said so) rather than trusted:
 * the instances it named are then replaced, not adopted.
 */
export function loadState(file: string, node: string, log: (line: string) => void): AgentState {
  const none: AgentState = { instances: [], releasedPorts: [] };
  if (!existsSync(file)) return none;
  try {
    const state = StateSchema.parse(JSON.parse(readFileSync(file, "utf8")));
    if (state.node !== node) {
      log(`agent: ${file} belongs to node ${state.node}, not ${node}: not adopting its instances`);
      return none;
    }
    return { instances: state.instances, releasedPorts: state.releasedPorts ?? [] };
  } catch (err) {
    const aside = `${file}.bad-${Date.now()}`;
    renameSync(file, aside);
    log(
      `agent: ${file} is unreadable (${err instanceof Error ? err.message : String(err)}); moved to ${aside}`,
    );
    return none;
  }
}

export function saveState(file: string, node: string, state: AgentState): void {
  writeFileAtomic(file, JSON.stringify({ version: 1, node, ...state }, null, 1) + "\n", 0o600);
}
