/**
 * The host's side of the `ssh` provider (runs there, inside the one-file agent): nodes in
 * ROOT/NAME/ — node.json (the durable mark), gantry.mjs (the agent, one file), agent.token
 * (0600), agent.pid (pid and start time, as the `local` provider keeps it), agent.log, agent/
 * (its data dir) — reading them, and stopping and removing one.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeNameSchema } from "../../model/node.js";
import { parseWith } from "../../validate.js";
import { stopLeftInstances } from "../local/leftovers.js";
import { readPidFile, runs } from "../local/pidfile.js";
import type { HostNode, HostNodeFile } from "./protocol.js";

/** Whether a unit is active (`systemctl is-active` exits 0). */
export function unitActive(unit: string): boolean {
  try {
    execFileSync("systemctl", ["is-active", "--quiet", unit], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The node in `dir` as it is now, or undefined when `dir` holds none. */
export function readNode(dir: string): HostNode | undefined {
  let file: HostNodeFile;
  try {
    file = JSON.parse(readFileSync(join(dir, "node.json"), "utf8")) as HostNodeFile;
  } catch {
    return undefined;
  }
  const mark = readPidFile(join(dir, "agent.pid"));
  const running =
    file.unit !== undefined ? unitActive(file.unit) : mark !== undefined && runs(mark);
  return { ...file, state: running ? "running" : "stopped", pid: mark?.pid };
}

/** The nodes under `root`, of one pool or of one name when asked. */
export function listNodes(root: string, filter: { pool?: string; name?: string }): HostNode[] {
  let names: string[] = [];
  try {
    names = readdirSync(root).filter((n) => !n.startsWith("."));
  } catch {
    // No root yet: no nodes.
  }
  if (filter.name !== undefined) names = names.filter((n) => n === filter.name);
  return names
    .map((n) => readNode(join(root, n)))
    .filter((n): n is HostNode => n !== undefined)
    .filter((n) => filter.pool === undefined || n.pool === filter.pool);
}

/**
 * Stop node `name`'s agent (SIGTERM: it stops its instances; SIGKILL to its process group after
 * `graceMs`) or its unit, stop the instances a killed agent left, and remove its directory.
 */
export async function destroyNode(root: string, name: string, graceMs: number): Promise<void> {
  parseWith(NodeNameSchema, name, "name");
  const dir = join(root, name);
  if (!existsSync(dir)) return;
  let file: HostNodeFile | undefined;
  try {
    file = JSON.parse(readFileSync(join(dir, "node.json"), "utf8")) as HostNodeFile;
  } catch {
    // Half made: nothing started from it yet, or its pid file says what.
  }
  if (file?.unit !== undefined) removeUnit(file.unit);
  const mark = readPidFile(join(dir, "agent.pid"));
  if (mark !== undefined && runs(mark)) {
    signal(mark.pid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (runs(mark) && Date.now() < deadline) await sleep(25);
    if (runs(mark)) signal(-mark.pid, "SIGKILL");
    while (runs(mark)) await sleep(10);
  }
  await stopLeftInstances(join(dir, "agent"), name, graceMs, () => undefined);
  rmSync(dir, { recursive: true, force: true });
}

/** Stop and remove a node's unit (gone already: fine). */
export function removeUnit(unit: string): void {
  const quiet = { stdio: "ignore" } as const;
  try {
    execFileSync("systemctl", ["disable", "--now", unit], quiet);
  } catch {
    // Not loaded, or not there.
  }
  rmSync(join("/etc/systemd/system", unit), { force: true });
  try {
    execFileSync("systemctl", ["daemon-reload"], quiet);
  } catch {
    // A reload that fails leaves a unit file that no longer exists: harmless.
  }
}

/** Send a signal to a process (or, negative, a process group) that may have ended already. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}
