import { describe, expect, it } from "vitest";
import { releaseKey, type Release } from "../model/app.js";
import { ART, newApp, newRelease, ofRelease, World } from "../../test/helpers/plan-world.js";

/** A release as newRelease makes it, without its artifact. */
function withoutArtifact(w: World, over: Partial<Release> = {}): void {
  const { artifact: _a, ...rest } = newRelease(w, 1, over);
  w.put(releaseKey("hello", 1), rest);
}

const IMAGE = `127.0.0.1:5000/hello@sha256:${"ab".repeat(32)}`;

describe("planDeploy: what an assignment runs (issue 12)", () => {
  it("an image release's assignments carry the image, runtime docker and the app's container options, no artifact", () => {
    const w = new World();
    newApp(w, { runtime: "docker", container: { memoryMb: 256, pids: 64, readOnly: true } });
    withoutArtifact(w, { image: IMAGE, runtime: "docker", processTypes: { web: "" } });
    w.settle();
    const [a] = ofRelease(w, 1);
    expect(a).toMatchObject({
      image: IMAGE,
      runtime: "docker",
      container: { memoryMb: 256, pids: 64, readOnly: true },
      command: "",
    });
    expect(a).not.toHaveProperty("artifact");
  });

  it("a slug release's assignments carry the artifact and the release's runtime", () => {
    const w = new World();
    newApp(w);
    newRelease(w, 1, { runtime: "docker" });
    w.settle();
    const [a] = ofRelease(w, 1);
    expect(a).toMatchObject({ artifact: ART, runtime: "docker", command: "node server.js" });
    expect(a).not.toHaveProperty("image");
  });

  it("a release with neither artifact nor image runs nothing", () => {
    const w = new World();
    newApp(w);
    withoutArtifact(w);
    w.settle();
    expect(ofRelease(w, 1)).toEqual([]);
  });
});
