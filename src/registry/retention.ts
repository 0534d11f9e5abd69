import { DeploySchema, ReleaseSchema } from "../model/app.js";
import { K } from "../model/keys.js";
import { text, type Store } from "../store/index.js";
import type { RegistryApi } from "./http-api.js";
import { readImages } from "./inventory.js";
import { splitImageRef, type ImageRecord, type ReleaseImage } from "./listing.js";

/** Releases kept per app unless the server says otherwise (`--image-retention`). */
export const DEFAULT_KEEP_RELEASES = 5;
/**
 * An image Gantry made that no release uses yet may be a build between its push and its
 * release: it is left alone while younger than this.
 */
export const UNRELEASED_GRACE_MS = 60 * 60 * 1000;

export interface RetentionInput {
  app: string;
  keep: number;
  releases: readonly ReleaseImage[];
  /** The release deployed now (a rollback may run one older than the last N). */
  current?: number;
  /** The app repository's images. */
  images: readonly ImageRecord[];
  now: number;
}

/**
 * Which of an app's images go: those Gantry made for this app (label gantry.app = app) that
 * neither the last `keep` releases nor the deployed one run — and, when no release ever ran
 * them, only once they are older than the grace. Images pushed from outside (no label) stay.
 */
export function retentionPlan(input: RetentionInput): ImageRecord[] {
  const kept = keptReleaseDigests(input.app, input.keep, input.releases, input.current);
  const released = new Set(
    input.releases.map((r) => {
      const ref = r.image === undefined ? undefined : splitImageRef(r.image);
      return ref?.repository === input.app ? ref.digest : undefined;
    }),
  );
  return input.images.filter((img) => {
    if (img.repository !== input.app || img.labels["gantry.app"] !== input.app) return false;
    if (kept.has(img.digest)) return false;
    if (released.has(img.digest)) return true;
    const made = img.created === undefined ? NaN : Date.parse(img.created);
    return Number.isFinite(made) && input.now - made > UNRELEASED_GRACE_MS;
  });
}

/** An app's releases (with their images) and the deployed release, from the store. */
export async function readAppReleases(
  store: Store,
  app: string,
): Promise<{ releases: ReleaseImage[]; current?: number }> {
  const [rels, deploy] = await Promise.all([
    store.range({ prefix: `${K.releases}${app}/` }),
    store.get(`${K.deploys}${app}`),
  ]);
  const releases: ReleaseImage[] = [];
  for (const kv of rels.kvs) {
    const r = ReleaseSchema.safeParse(JSON.parse(text(kv.value)));
    if (r.success)
      releases.push({
        app,
        version: r.data.version,
        ...(r.data.image === undefined ? {} : { image: r.data.image }),
      });
  }
  const d =
    deploy === undefined ? undefined : DeploySchema.safeParse(JSON.parse(text(deploy.value)));
  return { releases, ...(d?.success === true ? { current: d.data.release } : {}) };
}

/**
 * The digests the kept releases (last `keep`, and the deployed one) run from the app's own
 * repository, each with the newest such release's version.
 */
export function keptReleaseDigests(
  app: string,
  keep: number,
  releases: readonly ReleaseImage[],
  current: number | undefined,
): Map<string, number> {
  const newest = [...releases].sort((a, b) => b.version - a.version);
  const out = new Map<string, number>();
  newest.forEach((r, i) => {
    if (i >= Math.max(0, keep) && r.version !== current) return;
    const ref = r.image === undefined ? undefined : splitImageRef(r.image);
    if (ref !== undefined && ref.repository === app && !out.has(ref.digest))
      out.set(ref.digest, r.version);
  });
  return out;
}

/**
 * Apply retention to one app's repository; answers the digests deleted. A release's image whose
 * tag moved (a CI re-pushed `latest`) is tagged `gantry-v<version>` first — the GC that follows
 * deletes untagged manifests, and a kept release must keep its exact image, an image from
 * outside Gantry too — except an older release's image that Gantry made: that one is retention's.
 */
export async function applyRetention(
  store: Store,
  api: RegistryApi,
  app: string,
  keep: number,
  now = Date.now(),
): Promise<string[]> {
  const { releases, current } = await readAppReleases(store, app);
  const images = await readImages(api, [app]);
  const doomed = retentionPlan({
    app,
    keep,
    releases,
    ...(current === undefined ? {} : { current }),
    images,
    now,
  });
  const tagged = new Set(images.map((i) => i.digest));
  const kept = keptReleaseDigests(app, keep, releases, current);
  // Every release's image, newest release first: all of them but the older ones Gantry made.
  for (const [digest, version] of keptReleaseDigests(app, Infinity, releases, current)) {
    if (tagged.has(digest)) continue;
    if (!kept.has(digest) && (await labelledApp(api, app, digest)) === app) continue;
    await api.tagManifest(app, digest, `gantry-v${version}`);
  }
  const deleted: string[] = [];
  for (const img of doomed) {
    if (await api.deleteManifest(app, img.digest)) deleted.push(img.digest);
  }
  return deleted;
}

/** The gantry.app label of a manifest's image (undefined: none, or no such manifest). */
async function labelledApp(
  api: RegistryApi,
  repo: string,
  digest: string,
): Promise<string | undefined> {
  const got = await api.manifest(repo, digest);
  if (got?.manifest.config === undefined) return undefined;
  const config = await api.imageConfig(repo, got.manifest.config.digest);
  return config?.config?.Labels?.["gantry.app"];
}

/** Every app's name (apps/<name>). */
export async function appNames(store: Store): Promise<string[]> {
  const res = await store.range({ prefix: K.apps });
  return res.kvs.map((kv) => kv.key.slice(K.apps.length)).filter((n) => !n.includes("/"));
}

/**
 * For apps:destroy: delete every manifest in the app's repository (the app is gone, so all its
 * images go, whoever pushed them). Answers the digests deleted; space returns at the next GC.
 */
export async function deleteAppImages(api: RegistryApi, app: string): Promise<string[]> {
  const deleted: string[] = [];
  for (const img of await readImages(api, [app])) {
    if (await api.deleteManifest(app, img.digest)) deleted.push(img.digest);
  }
  return deleted;
}
