import Docker from "dockerode";
import { GantryError } from "../errors.js";

/**
 * The one way Gantry reaches a Docker engine: dockerode over the engine's socket, pinned to
 * Engine API 1.41 (Debian's docker.io 20.10). The `docker` CLI on a machine's PATH may be
 * another version entirely, so nothing in Gantry shells out to it.
 */
export const DOCKER_API_VERSION = "v1.41";

/** The socket: DOCKER_HOST=unix:///path when set, else /var/run/docker.sock. */
export function dockerSocket(env: NodeJS.ProcessEnv = process.env): string {
  const host = env["DOCKER_HOST"];
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}

/** A client for the engine at `socketPath` (default: dockerSocket()). */
export function dockerEngine(socketPath = dockerSocket()): Docker {
  return new Docker({ socketPath, version: DOCKER_API_VERSION });
}

/** Docker could not be reached or refused what was asked; `code` is stable for callers. */
export class DockerError extends GantryError {
  constructor(message: string, code = "docker_error", status = 502, cause?: unknown) {
    super(code, message, { status, cause });
  }
}

/** Whether an engine answers at `socketPath` (within `timeoutMs`). */
export async function dockerAvailable(
  socketPath = dockerSocket(),
  timeoutMs = 2000,
): Promise<boolean> {
  const engine = dockerEngine(socketPath);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      engine.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), timeoutMs);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** The HTTP status of an error dockerode raised (404 for a missing image, …), if any. */
export function engineStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === "number" ? s : undefined;
}

/** The engine's own message for an error dockerode raised, without dockerode's wrapping. */
export function engineMessage(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === "string") return json.message;
  return err instanceof Error ? err.message : String(err);
}
