/**
 * Tests before release (issue 15), the I/O part: run a succeeded build's test command as a
 * one-off of the build's own artifact (or image) on a live node, with the app's TEST config,
 * stream its output to the pusher, wait for its end within the time limit, and record the
 * outcome on the build (`Build.test`). The caller releases only when it passed.
 */
import { buildKey } from "../build/builder.js";
import {
  finishTest,
  humanMs,
  rejection,
  testCommand,
  testTimeoutMs,
  type TestEnd,
} from "../build/test-step.js";
import { assignmentKey, instanceKey } from "../apps/keys.js";
import { readApp } from "../apps/records.js";
import { releaseRuntime } from "../apps/release-code.js";
import { placeOneoff } from "../apps/run.js";
import { sourceOf } from "../apps/logs.js";
import {
  BuildSchema,
  InstanceStatusSchema,
  type Build,
  type BuildTest,
  type InstanceStatus,
} from "../model/app.js";
import type { RunAnswer } from "../model/app-views.js";
import type { Principal } from "../model/principal.js";
import { text, type Store } from "../store/index.js";
import { waitForChange } from "../store/wait-for-change.js";
import type { ApiDeps } from "./server.js";

/** After the test process ended: wait for its last lines until output was quiet this long. */
const QUIET_MS = 500;
const TRAILING_MAX_MS = 3000;
const ENDED = new Set(["exited", "crashed", "stopped"]);
const PAD = "       ";

/** The test step's outcome: ok (passed, or no test command) or the reason the push is refused. */
export type TestStepResult =
  | { ok: true; build: Build }
  | { ok: false; build: Build; error: string };

/** Run `build`'s tests when its app has a test command; record and stream them. */
export async function runBuildTests(
  deps: ApiDeps,
  build: Build,
  who: Principal,
  write: (line: string) => void,
  signal: AbortSignal,
): Promise<TestStepResult> {
  const app = (await readApp(deps.store, build.app)).value;
  const command = testCommand(app, build);
  if (command === undefined) return { ok: true, build };
  const limitMs = testTimeoutMs(app);
  let test: BuildTest = { status: "running", command, startedAt: new Date().toISOString() };
  let rec = await saveTest(deps.store, build, test);

  // Lines of test one-offs, kept from before the instance exists so none is missed.
  const seen: { source: string; line: string }[] = [];
  let source: string | undefined;
  let lastLine = Date.now();
  let streamed = 0;
  const show = (s: string, line: string): void => {
    if (s !== source) return;
    lastLine = Date.now();
    streamed++;
    write(`${PAD}${line}`);
  };
  const stop = deps.apps?.logs?.follow(build.app, (l) => {
    const s = sourceOf(l);
    if (!s.startsWith("test.")) return;
    const line = l.split(" ").slice(2).join(" ");
    if (source === undefined) seen.push({ source: s, line });
    else show(s, line);
  });
  let run: RunAnswer | undefined;
  let end: TestEnd;
  try {
    write(`-----> Running tests: ${command}`);
    run = await placeOneoff(deps.store, deps.audit, who, build.app, async (cur) => ({
      processType: "test",
      release: cur.currentRelease,
      command,
      ...(build.artifact === undefined ? {} : { artifact: build.artifact }),
      ...(build.image === undefined ? {} : { image: build.image }),
      ...runtimeOf(releaseRuntime(cur, build.image)),
      ...(cur.container === undefined ? {} : { container: cur.container }),
      config: "test",
      build: build.id,
      action: "app.test",
    }));
    source = run.source;
    for (const l of seen.splice(0)) show(l.source, l.line);
    test = { ...test, instance: run.source };
    rec = await saveTest(deps.store, rec, test);
    write(`${PAD}${run.source} on ${run.node}, limit ${humanMs(limitMs)}, TEST config + CI=true`);
    const ended = await waitForEnd(
      deps.store,
      run.id,
      Date.parse(test.startedAt) + limitMs,
      signal,
    );
    end = ended;
    if (ended.kind === "exited") {
      const until = Date.now() + TRAILING_MAX_MS;
      lastLine = Math.max(lastLine, Date.now());
      while (Date.now() < until && Date.now() - lastLine < QUIET_MS)
        await new Promise((r) => setTimeout(r, 50));
      if (streamed === 0) for (const l of ended.lastOutput) write(`${PAD}${l}`);
    } else if (run !== undefined) {
      // The agent stops an instance whose assignment goes.
      await deps.store.delete(assignmentKey(run.node, run.id)).catch(() => undefined);
    }
  } catch (err) {
    end = { kind: "lost", reason: `the test run could not start: ${message(err)}` };
  } finally {
    stop?.();
  }
  test = finishTest(test, end, new Date(), limitMs);
  rec = await saveTest(deps.store, rec, test).catch(() => ({ ...rec, test }));
  if (test.status === "passed") {
    write(`-----> Tests passed in ${humanMs(test.durationMs ?? 0)}`);
    return { ok: true, build: rec };
  }
  const error = rejection(test);
  write(` !     ${error}`);
  return { ok: false, build: rec, error };
}

const runtimeOf = (r: ReturnType<typeof releaseRuntime>) => (r === undefined ? {} : { runtime: r });
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

type Ended = Extract<TestEnd, { kind: "exited" }> & { lastOutput: string[] };

/** Wait for the instance to end, the deadline to pass, or the signal. */
async function waitForEnd(
  store: Store,
  id: string,
  deadline: number,
  signal: AbortSignal,
): Promise<Ended | Exclude<TestEnd, { kind: "exited" }>> {
  for (;;) {
    if (signal.aborted) return { kind: "cancelled" };
    const res = await store.range(instanceKey(id));
    const st = parseStatus(res.kvs[0]?.value);
    if (st !== undefined && ENDED.has(st.state))
      return {
        kind: "exited",
        state: st.state as Ended["state"],
        exitCode: st.exitCode,
        lastOutput: st.lastOutput,
      };
    const left = deadline - Date.now();
    if (left <= 0) return { kind: "timeout" };
    await waitForChange(store, instanceKey(id), res.revision, Math.min(left, 5000), signal);
  }
}

function parseStatus(raw: Uint8Array | undefined): InstanceStatus | undefined {
  if (raw === undefined) return undefined;
  try {
    const r = InstanceStatusSchema.safeParse(JSON.parse(text(raw)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Write `test` onto the build record (read fresh: only the test step changes a finished build). */
async function saveTest(store: Store, build: Build, test: BuildTest): Promise<Build> {
  const key = buildKey(build.app, build.id);
  const kv = await store.get(key);
  let cur = build;
  if (kv !== undefined) {
    const r = BuildSchema.safeParse(JSON.parse(text(kv.value)));
    if (r.success) cur = r.data;
  }
  const next: Build = { ...cur, test };
  await store.put(key, JSON.stringify(next));
  return next;
}
