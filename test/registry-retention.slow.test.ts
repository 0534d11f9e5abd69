/**
 * Retention and GC of Gantry's registry (issue 12) with the real parts: GC held back by a push or
 * a fresh upload, retention deleting only Gantry's images of old releases while GC runs
 * read-only, release images whose tag moved, and apps:destroy's deleteAppImages.
 */
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ImageView } from "../src/model/image-view.js";
import { registryWorld } from "./helpers/registry-world.js";

const w = registryWorld({ imageRetention: 1 });
const { docker, api, tokenWith, makeImage, login, push, waitRunning, registryToken, putRelease } =
  w;

describe("Gantry's registry: retention and GC", () => {
  const pushed: string[] = [];
  let writer = "";

  // The state registry.slow.test.ts builds up in its tests, which these start from: b1..b3
  // (Gantry's) and one image from outside pushed to web; releases v1..v3 run b1..b3.
  beforeAll(async () => {
    writer = await tokenWith("web-ci", [{ resource: "app", prefix: "web", access: "write" }]);
    expect((await login("ci", writer)).code).toBe(0);
    for (const name of ["b1", "b2", "b3"]) pushed.push(await push(await makeImage(name, "web")));
    pushed.push(await push(await makeImage("outside")));
    expect(new Set(pushed).size).toBe(4);
    expect((await api("POST", "/v1/apps", { name: "web" })).status).toBe(201);
    for (let v = 1; v <= 3; v++) await putRelease(v, pushed[v - 1]!);
  }, 120_000);

  it("holds GC back while a push holds the lock or an upload is fresh", async () => {
    const reg = w.server.registry!;
    let release!: () => void;
    const pushing = reg.withPush(() => new Promise<void>((r) => (release = r)));
    let gcDone = false;
    const gc = reg.collectGarbage().then((r) => ((gcDone = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(gcDone).toBe(false);
    release();
    await pushing;
    expect((await gc).ran).toBe(true);
    await waitRunning();
    const upload = join(w.dataDir, "registry/data/docker/registry/v2/repositories/web/_uploads/x");
    mkdirSync(upload, { recursive: true });
    writeFileSync(join(upload, "startedat"), new Date().toISOString());
    expect(await reg.collectGarbage()).toMatchObject({ ran: false, reason: "a push is in flight" });
    // An upload abandoned long ago does not hold GC back.
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(upload, "startedat"), old, old);
    expect((await reg.collectGarbage()).ran).toBe(true);
    rmSync(upload, { recursive: true, force: true });
  }, 60_000);

  it("retention deletes only Gantry's images of old releases; GC runs read-only; it serves after", async () => {
    // The registry answers a delete with 405 while read-only: watch for that during the prune.
    const del = await registryToken("repository:web:delete");
    let readOnlySeen = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const res = await fetch(`http://${w.registry}/v2/web/manifests/sha256:${"0".repeat(64)}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${del}` },
        }).catch(() => undefined);
        if (res?.status === 405) readOnlySeen = true;
        await res?.body?.cancel();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const pruned = await api<{
      deleted: { app: string; digests: string[] }[];
      gc: { ran: boolean };
    }>("POST", "/v1/registry/prune");
    watching = false;
    await watcher;
    expect(pruned.status).toBe(200);
    // Keep 1: v3's b3 stays; b1 and b2 go; the image from outside Gantry stays.
    expect(pruned.body.deleted).toHaveLength(1);
    expect(pruned.body.deleted[0]!.digests.sort()).toEqual([pushed[0], pushed[1]].sort());
    expect(pruned.body.gc.ran).toBe(true);
    expect(readOnlySeen).toBe(true);
    await waitRunning();
    const left = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(left.body.map((i) => i.digest).sort()).toEqual([pushed[2], pushed[3]].sort());
    // It serves again: what is left pulls, what went does not.
    await docker(["rmi", "-f", `${w.registry}/web:b3`]);
    expect((await docker(["pull", `${w.registry}/web:b3`])).code).toBe(0);
    const pull = await registryToken("repository:web:pull");
    for (const [digest, status] of [
      [pushed[0], 404],
      [pushed[2], 200],
    ] as const) {
      const res = await fetch(`http://${w.registry}/v2/web/manifests/${digest}`, {
        headers: {
          authorization: `Bearer ${pull}`,
          accept: "application/vnd.docker.distribution.manifest.v2+json",
        },
      });
      await res.body?.cancel();
      expect(res.status).toBe(status);
    }
  }, 120_000);

  it("keeps release images whose tag moved (tagged gantry-vN before GC), but not old ones of Gantry's", async () => {
    expect((await login("ci", writer)).code).toBe(0);
    // v4 ran what web:latest was (Gantry's), v5 what web:ext was (from outside); both tags
    // then moved on, leaving those manifests untagged. v6 is the newest.
    const v4 = await push(await makeImage("latest", "web"));
    await push(await makeImage("latest"));
    const v5 = await push(await makeImage("ext"));
    await push(await makeImage("ext"));
    const v6 = await push(await makeImage("b6", "web"));
    for (const [v, d] of [
      [4, v4],
      [5, v5],
      [6, v6],
    ] as const)
      await putRelease(v, d);
    const pruned = await api<{ deleted: { digests: string[] }[]; gc: { ran: boolean } }>(
      "POST",
      "/v1/registry/prune?gc=always",
    );
    expect(pruned.body.gc.ran).toBe(true);
    // Keep 1 → v6 stays; v3's b3 goes by retention and v4's untagged image (Gantry's) by GC;
    // v5's image from outside stays, now tagged gantry-v5.
    expect(pruned.body.deleted.flatMap((d) => d.digests)).toEqual([pushed[2]]);
    await waitRunning();
    const left = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(left.body.find((i) => i.digest === v5)).toMatchObject({
      tags: ["gantry-v5"],
      releases: [5],
    });
    expect(left.body.find((i) => i.digest === v6)).toMatchObject({ releases: [6] });
    const pull = await registryToken("repository:web:pull");
    const status = async (digest: string): Promise<number> => {
      const res = await fetch(`http://${w.registry}/v2/web/manifests/${digest}`, {
        headers: {
          authorization: `Bearer ${pull}`,
          accept: "application/vnd.docker.distribution.manifest.v2+json",
        },
      });
      await res.body?.cancel();
      return res.status;
    };
    expect(await status(v4)).toBe(404);
    expect(await status(v5)).toBe(200);
  }, 90_000);

  it("apps:destroy's deleteAppImages takes every image of the app", async () => {
    const before = await api<ImageView[]>("GET", "/v1/images?app=web");
    expect(before.body.length).toBeGreaterThan(3);
    const gone = await w.server.registry!.deleteAppImages("web");
    expect(gone.sort()).toEqual(before.body.map((i) => i.digest).sort());
    expect((await api<ImageView[]>("GET", "/v1/images?app=web")).body).toEqual([]);
  });
});
