/**
 * Releasing a build (a push's slug or image, or an image deployed as is), and
 * `gantry deploy --image REF` (issue 12), which records REF, resolved to a digest, as a build of
 * kind image and releases it.
 */
import type { AuditLog } from "../audit/log.js";
import { buildKey, newBuildId } from "../build/builder.js";
import type { App, Build, Release, Runtime } from "../model/app.js";
import type { Principal } from "../model/principal.js";
import type { Store } from "../store/index.js";
import { resolveImage, type ResolveDeps } from "./image-resolve.js";
import { readApp } from "./records.js";
import { releaseRuntime } from "./release-code.js";
import { createRelease } from "./releases.js";

interface Deps {
  store: Store;
  audit: AuditLog;
}

/** Make the release of a build (new code ends a rollback's pin: it moved the app forward). */
export async function releaseBuild(
  deps: Deps,
  app: string,
  build: Build,
  who: Principal,
): Promise<Release> {
  const rel = await createRelease(deps.store, deps.audit, who, app, (state) => ({
    action: "app.release",
    ...(state.app.value.pinned === undefined ? {} : { app: unpinned }),
    draft: {
      build: build.id,
      ...(build.artifact === undefined ? {} : { artifact: build.artifact }),
      ...(build.image === undefined ? {} : { image: build.image }),
      ...runtimeOf(state.app.value, build.image),
      processTypes: build.processTypes ?? {},
      description: describeBuild(build),
      ...(build.push === undefined ? {} : { push: build.push }),
    },
  }));
  return rel!;
}

/**
 * Resolve REF to a digest (refused before anything is written when it does not exist or its
 * digest does not match), record it as a build of kind image and release it. The image's CMD is
 * web. Audited as `app.deploy.image` with the pinned image.
 */
export async function deployImage(
  deps: Deps,
  app: string,
  ref: string,
  who: Principal,
  resolve: ResolveDeps,
): Promise<{ build: Build; version: number }> {
  await readApp(deps.store, app);
  const { image } = await resolveImage(ref, resolve);
  const now = new Date();
  const build: Build = {
    id: newBuildId(now),
    app,
    status: "succeeded",
    commit: "image",
    kind: "image",
    image,
    processTypes: { web: "" },
    startedAt: now.toISOString(),
    finishedAt: now.toISOString(),
    createdBy: who.name,
  };
  await deps.store.txn({
    success: [
      { type: "put", key: buildKey(app, build.id), value: JSON.stringify(build) },
      deps.audit.entry(who, "app.deploy.image", `${app} ${image}`),
    ],
  });
  const rel = await releaseBuild(deps, app, build, who);
  return { build, version: rel.version };
}

/** A release's description for a build: the commit it deployed, or the image. */
function describeBuild(build: Build): string {
  if (build.kind === "image" && build.image !== undefined) return `Deploy ${build.image}`;
  return `Deploy ${build.commit.slice(0, 12)}`;
}

function runtimeOf(app: App, image: string | undefined): { runtime?: Runtime } {
  const runtime = releaseRuntime(app, image);
  return runtime === undefined ? {} : { runtime };
}

const unpinned = ({ pinned: _pinned, ...app }: App): App => app;
