import { describe, expect, it } from "vitest";
import type { ImageRecord } from "./listing.js";
import { keptReleaseDigests, retentionPlan, UNRELEASED_GRACE_MS } from "./retention.js";

const digest = (n: number): string => `sha256:${String(n).padStart(64, "0")}`;
const NOW = Date.parse("2026-12-01T12:00:00Z");
const ago = (ms: number): string => new Date(NOW - ms).toISOString();

const img = (n: number, over: Partial<ImageRecord> = {}): ImageRecord => ({
  repository: "web",
  digest: digest(n),
  tags: [`b${n}`],
  size: 1,
  created: ago(2 * UNRELEASED_GRACE_MS),
  labels: { "gantry.app": "web" },
  ...over,
});
const release = (version: number, n?: number) => ({
  app: "web",
  version,
  ...(n === undefined ? {} : { image: `127.0.0.1:5000/web@${digest(n)}` }),
});

describe("retention plan", () => {
  it("keeps the images of the last N releases and deletes older ones Gantry made", () => {
    const releases = [1, 2, 3, 4, 5, 6, 7].map((v) => release(v, v));
    const images = [1, 2, 3, 4, 5, 6, 7].map((n) => img(n));
    const doomed = retentionPlan({ app: "web", keep: 5, releases, images, now: NOW });
    expect(doomed.map((i) => i.digest)).toEqual([digest(1), digest(2)]);
  });

  it("keeps the deployed release's image even when it is older than the last N (a rollback)", () => {
    const releases = [1, 2, 3, 4].map((v) => release(v, v));
    const images = [1, 2, 3, 4].map((n) => img(n));
    const doomed = retentionPlan({ app: "web", keep: 2, releases, current: 1, images, now: NOW });
    expect(doomed.map((i) => i.digest)).toEqual([digest(2)]);
  });

  it("counts releases, not images: a config release reusing an image keeps it once", () => {
    // v3 and v4 are config changes of v2's image; keep 2 → v3, v4 → image 2 stays, image 1 goes.
    const releases = [release(1, 1), release(2, 2), release(3, 2), release(4, 2)];
    const doomed = retentionPlan({
      app: "web",
      keep: 2,
      releases,
      images: [img(1), img(2)],
      now: NOW,
    });
    expect(doomed.map((i) => i.digest)).toEqual([digest(1)]);
  });

  it("never deletes images Gantry did not make, nor other apps' or other repositories'", () => {
    const releases = [1, 2, 3].map((v) => release(v, v));
    const images = [
      img(1, { labels: {} }), // pushed from outside
      img(2, { labels: { "gantry.app": "api" } }), // labelled for another app
      img(9, { repository: "images/base" }),
    ];
    expect(retentionPlan({ app: "web", keep: 1, releases, images, now: NOW })).toEqual([]);
  });

  it("leaves a fresh unreleased image (a build between push and release), deletes an old one", () => {
    const images = [
      img(8, { created: ago(UNRELEASED_GRACE_MS / 2) }),
      img(9, { created: ago(UNRELEASED_GRACE_MS * 2) }),
      img(10, { created: undefined }),
    ];
    const doomed = retentionPlan({ app: "web", keep: 5, releases: [], images, now: NOW });
    expect(doomed.map((i) => i.digest)).toEqual([digest(9)]);
  });
});

describe("kept release digests", () => {
  it("maps each kept image to its newest release, deployed one included, own repository only", () => {
    const releases = [
      release(1, 1),
      release(2, 2),
      release(3, 3),
      release(4, 3),
      { app: "web", version: 5, image: `127.0.0.1:5000/other@${digest(9)}` },
    ];
    const kept = keptReleaseDigests("web", 3, releases, 1);
    expect([...kept]).toEqual([
      [digest(3), 4],
      [digest(1), 1],
    ]);
  });
});
