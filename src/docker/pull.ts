import type Docker from "dockerode";
import { DockerError, engineMessage, engineStatus } from "./engine.js";

/** Credentials for a registry, as the engine's X-Registry-Auth carries them. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/**
 * The registry host of an image ref (`127.0.0.1:5000/app@sha256:…` → `127.0.0.1:5000`), or
 * undefined for a local name (`gantry/base:abc`): a first component with a dot or a colon, or
 * `localhost`, is a host, as Docker reads it.
 */
export function registryHost(ref: string): string | undefined {
  const slash = ref.indexOf("/");
  if (slash < 0) return undefined;
  const first = ref.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined;
}

/** Whether the engine has `ref` (by name, tag or digest). */
export async function hasImage(engine: Docker, ref: string): Promise<boolean> {
  try {
    await engine.getImage(ref).inspect();
    return true;
  } catch (err) {
    if (engineStatus(err) === 404) return false;
    throw new DockerError(
      `cannot look up image ${ref}: ${engineMessage(err)}`,
      "docker_error",
      502,
      err,
    );
  }
}

/** Pull `ref` into the engine; resolves once it is there, rejects with the registry's reason. */
export async function pullImage(engine: Docker, ref: string, auth?: RegistryAuth): Promise<void> {
  let res: NodeJS.ReadableStream;
  try {
    res = (await engine.pull(
      ref,
      auth === undefined ? {} : { authconfig: auth },
    )) as NodeJS.ReadableStream;
  } catch (err) {
    throw new DockerError(
      `cannot pull ${ref}: ${engineMessage(err)}`,
      "image_pull_failed",
      502,
      err,
    );
  }
  await new Promise<void>((resolve, reject) => {
    engine.modem.followProgress(res, (err: Error | null, events: { error?: string }[]) => {
      const failed = err?.message ?? events.find((e) => e.error !== undefined)?.error;
      if (failed === undefined) resolve();
      else reject(new DockerError(`cannot pull ${ref}: ${failed}`, "image_pull_failed", 502));
    });
  });
}

/**
 * Make `ref` runnable on this engine and answer the reference to run: `ref` itself when the engine
 * has it or pulls it; the image id when `ref` is pinned to a local image's id rather than a
 * registry digest (an image deployed from a node that never pushed it: `repo@sha256:<image id>`).
 * Local names are never pulled.
 */
export async function ensureImage(
  engine: Docker,
  ref: string,
  auth?: RegistryAuth,
): Promise<string> {
  if (await hasImage(engine, ref)) return ref;
  const id = /@(sha256:[0-9a-f]{64})$/.exec(ref)?.[1];
  if (id !== undefined && (await hasImage(engine, id))) return id;
  if (registryHost(ref) === undefined)
    throw new DockerError(
      `image ${ref} is not on this node (and names no registry to pull from)`,
      "image_not_found",
      404,
    );
  await pullImage(engine, ref, auth);
  return ref;
}
