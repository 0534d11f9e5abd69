import { request } from "node:http";
import { ValidationError } from "../errors.js";
import { BakeError } from "./errors.js";
import { LABEL } from "./names.js";

/**
 * The two reads of a no-op bake (the base image, the image with the bake's key) straight over
 * the engine's socket with node:http. Everything else goes through dockerode (src/docker/engine.ts),
 * but loading dockerode alone takes longer than these calls and the rest of a reused bake
 * together, and the target for a no-op bake is one second for the whole command.
 */

/** The engine's socket: DOCKER_HOST=unix:///path when set, else /var/run/docker.sock. */
export function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  // The same rule as dockerSocket() in src/docker/engine.ts, which loads dockerode.
  const host = env["DOCKER_HOST"];
  return host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
}

/** What a bake needs of its base image. */
export interface BaseImage {
  id: string;
  config: {
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    User?: string;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    StopSignal?: string;
    Labels?: Record<string, string> | null;
  };
}

/** A baked image found by its key label. */
export interface BakedImage {
  id: string;
  tags: string[];
  digests: string[];
}

/** GET a JSON answer from the Engine API (v1.41); `undefined` for a 404. */
export function engineGet<T>(socket: string, path: string): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: `/v1.41${path}`, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode === 404) return resolve(undefined);
        if (res.statusCode !== 200) {
          let message = text;
          try {
            message = (JSON.parse(text) as { message?: string }).message ?? text;
          } catch {
            // not JSON: the text itself
          }
          return reject(new BakeError("docker_error", `Docker engine: ${message.trim()}`, 502));
        }
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new BakeError("docker_error", `Docker engine: an answer that is not JSON`, 502));
        }
      });
      res.on("error", reject);
    });
    req.on("error", (err: NodeJS.ErrnoException) => reject(unreachable(socket, err)));
    req.end();
  });
}

/** "Cannot connect" as one clear line. */
export function unreachable(socket: string, err: NodeJS.ErrnoException): Error {
  if (err.code === "ENOENT" || err.code === "ECONNREFUSED" || err.code === "EACCES")
    return new BakeError(
      "docker_unavailable",
      `no Docker engine answers at ${socket} (${err.code}): start dockerd, or set DOCKER_HOST=unix:///path/to/docker.sock`,
      503,
    );
  return err;
}

/** The base image, or a clear error when this engine does not have it (a bake never pulls it). */
export async function inspectBase(socket: string, ref: string): Promise<BaseImage> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/.test(ref) || ref.includes(".."))
    throw new ValidationError(`--from must be an image reference or id, got "${ref}"`, "--from");
  const info = await engineGet<{ Id: string; Config: BaseImage["config"] | null }>(
    socket,
    `/images/${ref}/json`,
  );
  if (info === undefined)
    throw new BakeError(
      "bake_image_missing",
      `image "${ref}" is not on this Docker engine: build or load it first (a bake never pulls its --from)`,
      404,
    );
  return { id: info.Id, config: info.Config ?? {} };
}

/** The image an earlier bake made with this key, if it is still there. */
export async function findBaked(socket: string, key: string): Promise<BakedImage | undefined> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${LABEL.key}=${key}`] }));
  const found = await engineGet<{ Id: string; RepoTags?: string[]; RepoDigests?: string[] }[]>(
    socket,
    `/images/json?filters=${filters}`,
  );
  const image = found?.[0];
  if (image === undefined) return undefined;
  return { id: image.Id, tags: image.RepoTags ?? [], digests: image.RepoDigests ?? [] };
}
