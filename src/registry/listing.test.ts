import { describe, expect, it } from "vitest";
import { imageViews, manifestSize, splitImageRef, type ImageRecord } from "./listing.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

const rec = (over: Partial<ImageRecord>): ImageRecord => ({
  repository: "web",
  digest: D1,
  tags: ["b1"],
  size: 10,
  labels: {},
  ...over,
});

describe("image listing", () => {
  it("sizes a manifest by its layers, a list by its manifests", () => {
    expect(
      manifestSize({
        layers: [
          { digest: D1, size: 100 },
          { digest: D2, size: 23 },
        ],
      }),
    ).toBe(123);
    expect(manifestSize({ manifests: [{ digest: D1, size: 7 }] })).toBe(7);
    expect(manifestSize({})).toBe(0);
  });

  it("splits a pinned reference into repository and digest", () => {
    expect(splitImageRef(`127.0.0.1:5000/images/base@${D1}`)).toEqual({
      repository: "images/base",
      digest: D1,
    });
    expect(splitImageRef("web:latest")).toBeUndefined();
  });

  it("names the releases of the app that run each image, newest first, and Gantry's label", () => {
    const views = imageViews(
      [
        rec({ digest: D1, labels: { "gantry.app": "web" }, created: "2026-01-01T00:00:00Z" }),
        rec({ digest: D2, tags: ["ci", "a"], created: "2026-02-01T00:00:00Z" }),
        rec({ repository: "images/base", digest: D1 }),
      ],
      [
        { app: "web", version: 1, image: `127.0.0.1:5000/web@${D1}` },
        { app: "web", version: 3, image: `127.0.0.1:5000/web@${D1}` },
        { app: "web", version: 2 },
        // Another app's release using the same digest in its own repository does not count here.
        { app: "api", version: 9, image: `127.0.0.1:5000/api@${D2}` },
      ],
    );
    expect(views.map((v) => [v.repository, v.digest, v.releases, v.gantry, v.app])).toEqual([
      ["images/base", D1, [], false, undefined],
      ["web", D2, [], false, "web"],
      ["web", D1, [3, 1], true, "web"],
    ]);
    expect(views[1]!.tags).toEqual(["a", "ci"]);
  });
});
