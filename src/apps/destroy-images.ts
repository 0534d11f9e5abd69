/**
 * `apps:destroy` and images (issue 12): the app's images go from Gantry's registry (the
 * registry's own deleteAppImages, when this server runs one) and from the local engine (by the
 * `gantry.app` label). Both are best effort: the app's records are gone already, and what is left
 * is named in the answer.
 */
import type Docker from "dockerode";
import type { RegistryHandle } from "../build/docker-build.js";
import { removeAppImages } from "../build/docker-images.js";

export interface ImagesRemoved {
  /** Manifests deleted from Gantry's registry. */
  registryImagesRemoved: number;
  /** Local images removed from this server's engine. */
  localImagesRemoved: number;
  /** What could not be removed, and why. */
  imagesLeft?: string[];
}

/** Remove an app's images from the registry and the local engine (undefined: none runs). */
export async function destroyAppImages(
  app: string,
  registry: RegistryHandle | undefined,
  engine: Docker | undefined,
): Promise<ImagesRemoved> {
  const left: string[] = [];
  let registryImagesRemoved = 0;
  if (registry?.deleteAppImages !== undefined) {
    try {
      registryImagesRemoved = (await registry.deleteAppImages(app)).length;
    } catch (err) {
      left.push(`registry: ${(err as Error).message}`);
    }
  }
  let localImagesRemoved = 0;
  if (engine !== undefined) {
    try {
      const r = await removeAppImages(engine, app);
      localImagesRemoved = r.removed.length;
      left.push(...r.kept);
    } catch (err) {
      left.push(`engine: ${(err as Error).message}`);
    }
  }
  return {
    registryImagesRemoved,
    localImagesRemoved,
    ...(left.length === 0 ? {} : { imagesLeft: left }),
  };
}
