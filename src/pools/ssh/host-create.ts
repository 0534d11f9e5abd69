/**
 * Create a node on the host it runs on (inside the one-file agent, for the `ssh` provider): take
 * the name atomically (a complete directory renamed into place), copy the agent in, start it —
 * as a systemd unit where systemd runs, else detached with a pid file — and wait until it says
 * it runs. On failure nothing of it is left.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NodeNameSchema } from "../../model/node.js";
import { parseWith } from "../../validate.js";
import { agentArgs } from "../agent-args.js";
import { claimNodeDir } from "../node-dir.js";
import { agentLog, logFailure, spawnDetached, untilAgentStarted } from "../agent-start.js";
import { runs, writePidFile, type ProcessMark } from "../local/pidfile.js";
import { destroyNode, readNode, removeUnit, signal, unitActive } from "./host-nodes.js";
import type { HostNode, HostNodeFile, HostRequest } from "./protocol.js";
import { agentUnit, unitName } from "./unit.js";

type CreateRequest = Extract<HostRequest, { op: "create" }>;

export async function createNode(
  root: string,
  req: CreateRequest,
  bundle: string,
): Promise<HostNode> {
  parseWith(NodeNameSchema, req.name, "name");
  const unit =
    req.systemd !== false && existsSync("/run/systemd/system") ? unitName(req.name) : undefined;
  const dir = claim(root, req, unit);
  try {
    const argv = [
      process.execPath,
      join(dir, "gantry.mjs"),
      ...agentArgs({
        server: req.server,
        name: req.name,
        dataDir: join(dir, "agent"),
        address: req.address,
        // The one-file agent reads a join token from a file too: no token on a command line.
        credential:
          req.joinToken !== undefined
            ? ["--join-file", join(dir, "join.token")]
            : ["--token-file", join(dir, "agent.token")],
      }),
    ];
    copyFileSync(bundle, join(dir, "gantry.mjs"));
    const pid = unit !== undefined ? startUnit(dir, req, argv) : await spawnDetached(dir, argv);
    const mark = pid === undefined ? undefined : writePidFile(join(dir, "agent.pid"), pid);
    await started(dir, req.name, req.startTimeoutMs, unit, mark);
    return readNode(dir)!;
  } catch (err) {
    await destroyNode(root, req.name, 1000);
    throw err;
  }
}

/** Make ROOT/NAME complete with node.json (and the token) in one rename: taken or not. */
function claim(root: string, req: CreateRequest, unit: string | undefined): string {
  const file: HostNodeFile = {
    name: req.name,
    pool: req.pool,
    instance: req.instance,
    address: req.address,
    createdAt: req.createdAt,
  };
  if (unit !== undefined) file.unit = unit;
  return claimNodeDir(root, req.name, 0o755, {
    "node.json": JSON.stringify(file, null, 2) + "\n",
    ...(req.nodeToken === undefined ? {} : { "agent.token": req.nodeToken + "\n" }),
    ...(req.joinToken === undefined ? {} : { "join.token": req.joinToken + "\n" }),
  });
}

/** Write, enable and start the node's unit; its main pid. */
function startUnit(dir: string, req: CreateRequest, argv: string[]): number | undefined {
  const unit = unitName(req.name);
  writeFileSync(
    join("/etc/systemd/system", unit),
    agentUnit({ name: req.name, pool: req.pool, dir, argv }),
  );
  execFileSync("systemctl", ["daemon-reload"], { stdio: "ignore" });
  try {
    execFileSync("systemctl", ["enable", "--now", unit], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    removeUnit(unit);
    throw err;
  }
  const pid = Number(
    execFileSync("systemctl", ["show", "--property", "MainPID", "--value", unit], {
      encoding: "utf8",
    }).trim(),
  );
  return pid > 0 ? pid : undefined;
}

/** Wait until the agent's log says it runs; fail with the log's last lines if it ends first. */
async function started(
  dir: string,
  name: string,
  timeoutMs: number,
  unit: string | undefined,
  mark: ProcessMark | undefined,
): Promise<void> {
  await untilAgentStarted({
    timeoutMs,
    alive: () => (unit !== undefined ? unitActive(unit) : mark !== undefined && runs(mark)),
    output: () => agentLog(dir),
    failed: (why) => logFailure(dir, name, why),
    onTimeout: () => {
      if (mark !== undefined) signal(-mark.pid, "SIGKILL");
    },
  });
}
