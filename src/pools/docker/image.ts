import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type Docker from "dockerode";
import { ensureBaseImage } from "../../containers/base-image.js";
import { DockerError } from "../../docker/engine.js";
import { ensureImage, registryHost, type RegistryAuth } from "../../docker/pull.js";
import type { NodeImage } from "./options.js";

/**
 * The Gantry install this code runs from: the nearest directory above this module with
 * gantry's package.json and bin/gantry (the repository or the installed package; the same from
 * src/ and from dist/, and from a bundle).
 */
export function gantryInstallRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
      if (pkg.name === "gantry" && existsSync(join(dir, "bin", "gantry"))) return dir;
    } catch {
      // not here: look further up
    }
    if (dirname(dir) === dir)
      throw new DockerError(`cannot find the Gantry install above ${from}`, "docker_error", 500);
  }
}

/**
 * The default node image: Gantry's base image (the host's node, sh and a few tools, made once
 * from host files and cached by their content hash: src/containers/base-image.ts) with this
 * Gantry install bind-mounted read-only at its own path. There is no image hub to pull a node
 * image from, and the engine is on this machine (a unix socket), so the install is here too.
 */
export async function defaultNodeImage(
  engine: Docker,
  root = gantryInstallRoot(),
): Promise<NodeImage> {
  const ref = await ensureBaseImage(engine);
  return {
    ref,
    gantry: ["/usr/bin/node", join(root, "bin", "gantry")],
    mounts: [{ source: root, target: root }],
  };
}

/**
 * A baked node image (`docker.image`): present on the engine or pulled (a registry host in its
 * name), running `gantry` from its PATH.
 */
export async function bakedNodeImage(
  engine: Docker,
  image: string,
  auth?: (host: string) => RegistryAuth | undefined,
): Promise<NodeImage> {
  const host = registryHost(image);
  const ref = await ensureImage(engine, image, host === undefined ? undefined : auth?.(host));
  return { ref, gantry: ["gantry"], mounts: [] };
}
