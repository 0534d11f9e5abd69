/**
 * An app's images on the local engine, by label only (`gantry.app=<app>`), never host-wide.
 *
 * BuildKit's cache is the engine's: Engine API 1.41's `POST /build/prune` takes no label filter
 * (its filters select cache records, which carry no image labels), so Gantry does not prune it
 * per app; what it cleans are the app's dangling images after a build and all of them when the
 * app is destroyed.
 */
import type Docker from "dockerode";
import { engineMessage, engineStatus } from "../docker/engine.js";

const label = (app: string): string => `gantry.app=${app}`;

/** Remove the app's dangling images (a tag reused by a rebuild leaves its old image untagged). */
export async function pruneDangling(engine: Docker, app: string): Promise<void> {
  try {
    await engine.pruneImages({ filters: { dangling: ["true"], label: [label(app)] } });
  } catch {
    // Another prune may be running (409); this one is housekeeping and waits for the next build.
  }
}

/**
 * Remove every local image labelled with the app (`apps:destroy`); an image a container still
 * uses stays (409) and is named in `kept`.
 */
export async function removeAppImages(
  engine: Docker,
  app: string,
): Promise<{ removed: string[]; kept: string[] }> {
  const images = await engine.listImages({ filters: { label: [label(app)] } });
  const removed: string[] = [];
  const kept: string[] = [];
  for (const img of images) {
    const names = img.RepoTags?.filter((t) => t !== "<none>:<none>") ?? [];
    try {
      // Untag each name, then the image itself goes with its last name.
      for (const name of names) await engine.getImage(name).remove({ noprune: false });
      if (names.length === 0) await engine.getImage(img.Id).remove({ noprune: false });
      removed.push(img.Id);
    } catch (err) {
      if (engineStatus(err) === 404) removed.push(img.Id);
      else kept.push(`${img.Id} (${engineMessage(err)})`);
    }
  }
  return { removed, kept };
}
