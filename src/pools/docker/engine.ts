import type Docker from "dockerode";
import { setTimeout as sleep } from "node:timers/promises";
import { DockerError, engineMessage, engineStatus } from "../../docker/engine.js";
import { nodeOf } from "./labels.js";
import type { PoolNode } from "../provider.js";

/** An engine error as Gantry says it: no engine at all (no socket, refused) is its own code. */
export function engineFailure(what: string, err: unknown): DockerError {
  if (err instanceof DockerError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES")
    return new DockerError(
      `no Docker engine for the docker provider: ${engineMessage(err)}`,
      "docker_unavailable",
      503,
      err,
    );
  return new DockerError(`${what}: ${engineMessage(err)}`, "docker_error", 502, err);
}

/** The nodes of the containers the label filter matches (containers that are not nodes: left out). */
export async function labelledNodes(engine: Docker, labels: string[]): Promise<PoolNode[]> {
  let found: Docker.ContainerInfo[];
  try {
    found = await engine.listContainers({ all: true, filters: { label: labels } });
  } catch (err) {
    throw engineFailure("cannot list the node containers", err);
  }
  return found.map(nodeOf).filter((n): n is PoolNode => n !== undefined);
}

/**
 * Stop a container (SIGTERM, the engine's SIGKILL after `graceMs`) and remove it with its
 * anonymous volumes; resolves once the engine no longer has it. Gone already is fine.
 */
export async function stopAndRemove(engine: Docker, id: string, graceMs: number): Promise<void> {
  const c = engine.getContainer(id);
  // 304: not running; 404: gone. Anything else: the forced remove below ends it anyway.
  await c.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) }).catch(() => undefined);
  await remove(engine, id);
}

/** Remove a container (killing it if it runs) and its anonymous volumes, and wait until it is gone. */
export async function remove(engine: Docker, id: string): Promise<void> {
  const c = engine.getContainer(id);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await c.remove({ force: true, v: true });
      return;
    } catch (err) {
      const status = engineStatus(err);
      if (status === 404) return;
      // 409: another caller is removing it (a destroy racing this one): wait for it to be gone.
      if (status !== 409 || Date.now() > deadline)
        throw engineFailure(`cannot remove container ${id.slice(0, 12)}`, err);
      await sleep(50);
    }
  }
}
