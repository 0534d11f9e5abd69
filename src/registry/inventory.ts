import type { RegistryApi } from "./http-api.js";
import { manifestSize, type ImageRecord } from "./listing.js";

/**
 * Every tagged manifest of `repos` (default: all), one record per digest with its tags, size,
 * labels and creation time — two or three registry requests per image.
 */
export async function readImages(api: RegistryApi, repos?: string[]): Promise<ImageRecord[]> {
  const names = repos ?? (await api.repositories());
  const out: ImageRecord[] = [];
  for (const repository of names) {
    const byDigest = new Map<string, ImageRecord>();
    for (const tag of await api.tags(repository)) {
      const got = await api.manifest(repository, tag);
      if (got === undefined) continue;
      const seen = byDigest.get(got.digest);
      if (seen !== undefined) {
        seen.tags.push(tag);
        continue;
      }
      const config =
        got.manifest.config === undefined
          ? undefined
          : await api.imageConfig(repository, got.manifest.config.digest);
      byDigest.set(got.digest, {
        repository,
        digest: got.digest,
        tags: [tag],
        size: manifestSize(got.manifest),
        ...(config?.created === undefined ? {} : { created: config.created }),
        labels: config?.config?.Labels ?? {},
      });
    }
    out.push(...byDigest.values());
  }
  return out;
}
