import { statfs } from "node:fs/promises";
import type Docker from "dockerode";
import { DockerError, dockerSocket, engineMessage } from "../docker/engine.js";
import { BakeError } from "./errors.js";

/**
 * Turn "cannot connect" into one clear line; everything else passes through. dockerode reports
 * a missing or refused socket as a Node system error (ENOENT, ECONNREFUSED, EACCES).
 */
export function engineCall<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ECONNREFUSED" || code === "EACCES")
      throw new DockerError(
        `no Docker engine answers at ${dockerSocket()} (${String(code)}): start dockerd, or set DOCKER_HOST=unix:///path/to/docker.sock`,
        "docker_unavailable",
        503,
      );
    throw err;
  });
}

/** Free bytes on the file system of Docker's data root, or undefined when it cannot be read. */
export async function dockerFreeBytes(
  engine: Docker,
): Promise<{ dir: string; free: number | undefined }> {
  const info = (await engineCall(engine.info())) as { DockerRootDir?: string };
  const dir = info.DockerRootDir ?? "/var/lib/docker";
  try {
    const s = await statfs(dir);
    return { dir, free: s.bavail * s.bsize };
  } catch {
    return { dir, free: undefined };
  }
}

/** Refuse to bake below `minFree` bytes free on Docker's data root. */
export async function checkFreeSpace(
  engine: Docker,
  minFree: number,
  warn: (line: string) => void,
): Promise<void> {
  if (minFree <= 0) return;
  const { dir, free } = await dockerFreeBytes(engine);
  if (free === undefined) {
    warn(`could not read the free space of ${dir}: the ${gb(minFree)} floor was not checked`);
    return;
  }
  if (free < minFree)
    throw new BakeError(
      "bake_low_disk",
      `only ${gb(free)} free on ${dir} (Docker's data root), below the ${gb(minFree)} floor: free some space, or lower it with --min-free`,
      507,
    );
}

/** `1.5 GB`. */
export function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/** The engine's message for a failed call, for errors of our own. */
export { engineMessage };
