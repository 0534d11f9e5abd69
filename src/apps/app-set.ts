/**
 * Changing an app's settings (`apps:set`, `PUT /v1/apps/:app/settings`, the stack's apps kind):
 * health path, deploy timeout, drain, (issue 12) runtime, container options and build args, and
 * (issue 13) the router's HTTPS redirect and HSTS, (issue 15) the test command and its time limit.
 * A change of runtime or container options makes a new release of the same code, so the
 * instances move to the new way of running; the others apply from the next deploy.
 */
import type { App, Release } from "../model/app.js";
import type { AppSet } from "../model/app-set.js";
import { codeOf, type ReleaseDraft } from "./releases.js";
import { releaseRuntime } from "./release-code.js";

/** The app with the change applied (pure). */
export function applyAppSet(app: App, set: AppSet): App {
  const {
    container,
    buildArgs,
    runtime,
    httpsRedirect,
    hsts,
    test,
    testTimeoutMs,
    cpu,
    constraints,
    spread,
    ...plain
  } = set;
  const next: App = { ...app, ...plain };
  // Placement (docs/scheduler.md): null and [] go back to none; they apply to new placements.
  if (cpu !== undefined) {
    if (cpu === null) delete next.cpu;
    else next.cpu = cpu;
  }
  if (constraints !== undefined) {
    if (constraints.length === 0) delete next.constraints;
    else next.constraints = constraints;
  }
  if (spread !== undefined) {
    if (spread === null) delete next.spread;
    else next.spread = spread;
  }
  // Tests before release (issue 15): "" and null go back to none and the default.
  if (test !== undefined) {
    if (test.trim() === "") delete next.test;
    else next.test = test;
  }
  if (testTimeoutMs !== undefined) {
    if (testTimeoutMs === null) delete next.testTimeoutMs;
    else next.testTimeoutMs = testTimeoutMs;
  }
  // Off is absent, so an app that never used them reads the same.
  if (httpsRedirect !== undefined) {
    if (httpsRedirect) next.httpsRedirect = true;
    else delete next.httpsRedirect;
  }
  if (hsts !== undefined) {
    if (hsts > 0) next.hsts = hsts;
    else delete next.hsts;
  }
  if (runtime !== undefined) {
    if (runtime === "process") delete next.runtime;
    else next.runtime = runtime;
  }
  if (container !== undefined) {
    const merged: Record<string, unknown> = { ...app.container };
    for (const [k, v] of Object.entries(container)) {
      if (v === null) delete merged[k];
      else if (v !== undefined) merged[k] = v;
    }
    if (Object.keys(merged).length === 0) delete next.container;
    else next.container = merged as App["container"];
  }
  if (buildArgs !== undefined) {
    if (buildArgs.length === 0) delete next.buildArgs;
    else next.buildArgs = buildArgs;
  }
  return next;
}

/** Whether the change alters how instances run (runtime or container options). */
export function movesInstances(before: App, after: App): boolean {
  return (
    (before.runtime ?? "process") !== (after.runtime ?? "process") ||
    JSON.stringify(sorted(before.container)) !== JSON.stringify(sorted(after.container))
  );
}

const sorted = (o: object | undefined): [string, unknown][] =>
  Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));

/**
 * The release that moves the instances of `base` (the serving code) to the app's new runtime
 * and container options. An image runs in Docker whatever the app's runtime (which is how its
 * slugs run).
 */
export function moveDraft(after: App, base: Release, words: string): ReleaseDraft {
  const { runtime: _old, ...code } = codeOf(base);
  const runtime = releaseRuntime(after, base.image);
  return { ...code, ...(runtime === undefined ? {} : { runtime }), description: words };
}

/** `Set runtime=docker, memory=256M`: what a change did, for a release's description. */
export function describeAppSet(set: AppSet): string {
  const parts: string[] = [];
  if (set.runtime !== undefined) parts.push(`runtime=${set.runtime}`);
  const c = set.container ?? {};
  if (c.memoryMb !== undefined)
    parts.push(`memory=${c.memoryMb === null ? "default" : `${c.memoryMb}M`}`);
  if (c.pids !== undefined) parts.push(`pids=${c.pids ?? "default"}`);
  if (c.readOnly !== undefined) parts.push(`read-only=${c.readOnly ?? "default"}`);
  return `Set ${parts.join(", ")}`;
}
