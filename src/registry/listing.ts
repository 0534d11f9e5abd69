import type { ImageView } from "../model/image-view.js";
import type { Manifest } from "./http-api.js";

export type { ImageView };

/** One manifest in a repository as read from the registry. */
export interface ImageRecord {
  repository: string;
  digest: string;
  tags: string[];
  /** Sum of the layer sizes (compressed, as stored); for a list, of its manifests' sizes. */
  size: number;
  created?: string;
  labels: Record<string, string>;
}

/** A release as listing and retention need it. */
export interface ReleaseImage {
  app: string;
  version: number;
  image?: string;
}

/** The size a manifest stands for: its layers (or its sub-manifests for a list). */
export function manifestSize(m: Manifest): number {
  const parts = m.layers ?? m.manifests ?? [];
  return parts.reduce((sum, p) => sum + (Number.isFinite(p.size) ? p.size : 0), 0);
}

/** `host:port/name@sha256:…` → {repository, digest}; undefined for a ref of another form. */
export function splitImageRef(ref: string): { repository: string; digest: string } | undefined {
  const at = ref.indexOf("@");
  const slash = ref.indexOf("/");
  if (at < 0 || slash < 0 || slash > at) return undefined;
  return { repository: ref.slice(slash + 1, at), digest: ref.slice(at + 1) };
}

/** The images with the releases that use them, sorted by repository then newest first. */
export function imageViews(
  records: readonly ImageRecord[],
  releases: readonly ReleaseImage[],
): ImageView[] {
  const users = new Map<string, number[]>();
  for (const r of releases) {
    const ref = r.image === undefined ? undefined : splitImageRef(r.image);
    if (ref === undefined || ref.repository !== r.app) continue;
    const key = `${ref.repository}@${ref.digest}`;
    users.set(key, [...(users.get(key) ?? []), r.version]);
  }
  return records
    .map((rec) => {
      const app = rec.repository.includes("/") ? undefined : rec.repository;
      return {
        repository: rec.repository,
        digest: rec.digest,
        tags: [...rec.tags].sort(),
        size: rec.size,
        ...(rec.created === undefined ? {} : { created: rec.created }),
        ...(app === undefined ? {} : { app }),
        gantry: rec.labels["gantry.app"] !== undefined,
        releases: (users.get(`${rec.repository}@${rec.digest}`) ?? []).sort((a, b) => b - a),
      };
    })
    .sort(
      (a, b) =>
        a.repository.localeCompare(b.repository) ||
        (b.created ?? "").localeCompare(a.created ?? "") ||
        a.digest.localeCompare(b.digest),
    );
}
