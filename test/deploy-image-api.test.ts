/**
 * `POST /v1/apps/:app/deploy {image}` against the real engine and a bare docker-registry
 * (issue 12): a reference is resolved to a digest — by the registry for Gantry's registry's
 * address, by the engine otherwise — and a reference that does not exist, or a digest that does
 * not match, is refused before any release. In-process API; no deploy controller runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppsClient } from "../src/client/apps.js";
import { enginePush } from "../src/build/docker-engine-calls.js";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { dockerEngine } from "../src/docker/engine.js";
import { releaseKey, type Build, type Release } from "../src/model/app.js";
import { text } from "../src/store/index.js";
import { errorOf, startTestApi, type TestApi } from "./helpers/api.js";
import { startBareRegistry, type BareRegistry } from "./helpers/bare-registry.js";

const engine = dockerEngine();
let t: TestApi;
let apps: AppsClient;
let registry: BareRegistry;
let base: string;
let pushed: string;

beforeAll(async () => {
  t = await startTestApi();
  apps = new AppsClient(t.admin);
  registry = await startBareRegistry();
  t.api.deps.registry = { address: registry.address, auth: () => undefined };
  t.api.deps.docker = engine;
  base = await ensureBaseImage(engine);
  await engine.getImage(base).tag({ repo: `${registry.address}/ci`, tag: "v1" });
  pushed = await enginePush(engine, `${registry.address}/ci`, "v1", undefined, () => undefined);
  await apps.create("img");
}, 120_000);
afterAll(async () => {
  await t?.close();
  await registry?.stop();
});

const release = async (v: number): Promise<Release | undefined> => {
  const kv = await t.store.get(releaseKey("img", v));
  return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as Release);
};

describe("deploy --image through the API", () => {
  it("pins a tag in Gantry's registry to the registry's digest, as a build of kind image", async () => {
    const r = await apps.deployImage("img", `${registry.address}/ci:v1`);
    expect(r).toEqual({
      build: expect.any(String),
      release: 1,
      image: `${registry.address}/ci@${pushed}`,
    });
    expect(await release(1)).toMatchObject({
      image: `${registry.address}/ci@${pushed}`,
      runtime: "docker",
      processTypes: { web: "" },
      status: "pending",
    });
    const build: Build = await apps.build("img", r.build);
    expect(build).toMatchObject({ kind: "image", status: "succeeded", image: r.image });
  });

  it("takes a digest that matches, alone or with its tag", async () => {
    expect((await apps.deployImage("img", `${registry.address}/ci@${pushed}`)).image).toBe(
      `${registry.address}/ci@${pushed}`,
    );
    expect((await apps.deployImage("img", `${registry.address}/ci:v1@${pushed}`)).release).toBe(3);
  });

  it("refuses a digest that does not match, or a tag that is not there, before any release", async () => {
    const wrong = `sha256:${"0".repeat(64)}`;
    const mismatch = await errorOf(apps.deployImage("img", `${registry.address}/ci:v1@${wrong}`));
    expect(mismatch.status).toBe(400);
    expect(mismatch.field).toBe("image");
    expect(mismatch.message).toContain(`the image there is ${pushed}`);
    const unknownDigest = await errorOf(apps.deployImage("img", `${registry.address}/ci@${wrong}`));
    expect(unknownDigest.status).toBe(404);
    const noTag = await errorOf(apps.deployImage("img", `${registry.address}/ci:nope`));
    expect(noTag.status).toBe(404);
    expect(noTag.message).toMatch(/in Gantry's registry/);
    const noRepo = await errorOf(apps.deployImage("img", `${registry.address}/nothing:v1`));
    expect(noRepo.status).toBe(404);
    const bad = await errorOf(apps.deployImage("img", "Not An Image"));
    expect(bad.status).toBe(400);
    expect(await release(4)).toBeUndefined();
  });

  it("resolves other references on the server's engine: present on the node, or refused", async () => {
    const info = await engine.getImage(base).inspect();
    const r = await apps.deployImage("img", base);
    expect(r.image).toBe(`${base.split(":")[0]}@${info.Id}`);
    const missing = await errorOf(apps.deployImage("img", "example.com/not/here:1"));
    expect(missing.status).toBe(404);
    expect(missing.message).toMatch(/not present on this node/);
    const wrong = await errorOf(apps.deployImage("img", `${base}@sha256:${"1".repeat(64)}`));
    expect(wrong.status).toBe(400);
  });

  it("audits the deploy with the pinned image", async () => {
    const audit = await t.admin.audit(50);
    expect(
      audit.some(
        (e) =>
          e.action === "app.deploy.image" && e.target === `img ${registry.address}/ci@${pushed}`,
      ),
    ).toBe(true);
  });
});
