/**
 * Starting a node's agent, shared by the providers that run it as a process (`local`, and `ssh`
 * on its hosts) and the one that runs it in a container (`docker`): spawn it detached, then wait
 * until it says it runs.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { GantryError } from "../errors.js";

/** What the agent prints once it runs (src/cli/agent.ts). */
export const AGENT_STARTED = "agent for node";

/** Why an agent did not start. */
export type StartFailure = "ended" | "did not start in time";

export interface AgentWatch {
  /** How long the agent may take to start. */
  timeoutMs: number;
  /** Whether the agent still runs. */
  alive(): boolean | Promise<boolean>;
  /** What the agent has printed so far. */
  output(): string | Promise<string>;
  /** The error to throw, with what the agent printed. */
  failed(why: StartFailure): Error | Promise<Error>;
  /** Called before failing with "did not start in time" (e.g. to kill the agent). */
  onTimeout?(): void;
}

/** Resolves once the agent says it runs; rejects with `failed` if it ends or is slow. */
export async function untilAgentStarted(w: AgentWatch): Promise<void> {
  const deadline = Date.now() + w.timeoutMs;
  for (;;) {
    if (!(await w.alive())) throw await w.failed("ended");
    if ((await w.output()).includes(AGENT_STARTED)) return;
    if (Date.now() > deadline) {
      w.onTimeout?.();
      throw await w.failed("did not start in time");
    }
    await sleep(25);
  }
}

/** Start `argv` detached in its own session in `dir`, its output appended to agent.log; its pid. */
export async function spawnDetached(dir: string, argv: string[]): Promise<number> {
  const log = openSync(join(dir, "agent.log"), "a", 0o600);
  // Nothing of this process's environment that names a server or a token reaches the agent.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("GANTRY_")),
  );
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: dir,
    detached: true,
    stdio: ["ignore", log, log],
    env,
  });
  closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(child.pid!));
    child.once("error", reject);
  });
  child.unref();
  return pid;
}

/** The agent.log in `dir` so far ("" before there is one). */
export function agentLog(dir: string): string {
  const file = join(dir, "agent.log");
  return existsSync(file) ? readFileSync(file, "utf8") : "";
}

/** The error for node `name` whose agent (logging to `dir`/agent.log) did not start. */
export function logFailure(dir: string, name: string, why: StartFailure): GantryError {
  const last = agentLog(dir).trim().split("\n").slice(-5).join("\n");
  return new GantryError("node_start_failed", `node ${name}: the agent ${why}: ${last}`);
}
