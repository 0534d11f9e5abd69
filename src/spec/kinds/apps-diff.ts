import { RELEASE_TIMEOUT_MS } from "../../model/app.js";
import { formatDuration } from "../../model/duration.js";
import type { FieldChange } from "../kind.js";
import type { LiveApp, LiveCode } from "./apps-read.js";
import {
  wantedFormation,
  wantedHttps,
  wantedReleaseTimeout,
  wantedRuntime,
  wantedSettings,
  wantedTests,
  type AppSpec,
} from "./apps-schema.js";

/** How a plan shows a source hash (the full hash is in the build record). */
export const shortHash = (hash: string): string => hash.slice(0, 12);

/** What a plan says about the code an app runs now. */
export function describeCode(code: LiveCode): string {
  if (code.source !== undefined) return shortHash(code.source);
  if (code.commit !== undefined && code.commit !== "upload")
    return `git ${code.commit.slice(0, 12)}`;
  if (code.build !== undefined) return `upload ${code.build}`;
  return "(no build)";
}

/**
 * Whether the spec's code must be built: the folder differs from what serves, except on a
 * pinned app (a rollback), which keeps its release until the folder differs from what the
 * stack last built.
 */
export function needsBuild(live: LiveApp | undefined, source: string | undefined): boolean {
  if (source === undefined) return false;
  if (live === undefined) return true;
  if (live.pinned !== undefined) return source !== live.lastStackSource;
  return source !== live.code.source;
}

/** A pinned app whose release the stack must leave alone in this plan. */
export const held = (live: LiveApp, source: string | undefined): boolean =>
  live.pinned !== undefined && !needsBuild(live, source);

/**
 * The fields an app differs in, in a stable order: settings, domains, config, secrets, code,
 * formation. `source` is the content hash of the spec's `source:` folder (when it has one).
 * Secret values are never read into a field: a missing secret is a sensitive `info` field
 * (shown, never applied), a var the spec does not declare is a sensitive removal. A pinned
 * app's config and code changes are `info` too, under a `release` field saying it is pinned.
 */
export function diffApp(
  app: string,
  spec: AppSpec,
  live: LiveApp | undefined,
  source: string | undefined,
): FieldChange[] {
  const out: FieldChange[] = [];
  const isHeld = live !== undefined && held(live, source);
  const hold = (f: FieldChange): FieldChange => (isHeld ? { ...f, info: true } : f);

  out.push(...settingFields(spec, live));
  out.push(...runtimeFields(spec, live));
  out.push(...httpsFields(spec, live));
  out.push(...testFields(spec, live));
  out.push(...releaseTimeoutFields(spec, live));
  out.push(...placementFields(spec, live));

  const domains = [...(spec.domains ?? [])].sort();
  const liveDomains = live?.domains ?? [];
  if (domains.join(",") !== liveDomains.join(","))
    out.push({
      path: "domains",
      ...(live === undefined ? {} : { old: liveDomains }),
      new: domains,
    });

  const config = live?.config ?? {};
  const secrets = new Set(spec.secrets ?? []);
  const changes: FieldChange[] = [];
  for (const [k, v] of Object.entries(spec.config ?? {}))
    if (config[k] !== v) changes.push({ path: `config.${k}`, ...oldOf(config, k), new: v });
  for (const k of Object.keys(config))
    if (!(k in (spec.config ?? {})) && !secrets.has(k))
      // Undeclared: it may be a secret set by hand, so its value is never shown.
      changes.push({ path: `config.${k}`, old: "(set)", sensitive: true });
  for (const s of [...secrets].sort())
    if (!(s in config))
      changes.push({
        path: `secrets.${s}`,
        new: `(missing: gantry config:set ${app} ${s}=…)`,
        sensitive: true,
        info: true,
      });
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  let code: FieldChange | undefined;
  if (source !== undefined && (live === undefined || source !== live.code.source))
    code = {
      path: "source",
      ...(live === undefined ? {} : { old: describeCode(live.code) }),
      new: shortHash(source),
      // The folder changed since the stack last deployed it; else other code was deployed by
      // hand (a push), which is drift.
      ...(live !== undefined && source !== live.lastStackSource ? { fromFiles: true } : {}),
    };

  if (isHeld)
    out.push({
      path: "release",
      old: `pinned to v${live!.pinned!.release} by a rollback`,
      new: "kept: gantry releases:unpin lets the stack change it",
      info: true,
    });
  out.push(...changes.map((c) => (c.path.startsWith("config.") ? hold(c) : c)));
  if (code !== undefined) out.push(hold(code));

  out.push(...formationFields(spec, live, source !== undefined));
  return out;
}

/**
 * Health path, deploy timeout and drain: compared in the API's units, shown as the spec writes
 * them (a create shows only those the spec gives).
 */
function settingFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const want = wantedSettings(spec);
  const rows: [string, string | number, string | number | undefined, string | undefined][] = [
    ["healthPath", want.healthPath, live?.healthPath, spec.healthPath],
    ["deployTimeout", want.deployTimeoutMs, live?.deployTimeoutMs, spec.deployTimeout],
    ["drain", want.drainMs, live?.drainMs, spec.drain],
  ];
  const out: FieldChange[] = [];
  for (const [path, next, cur, written] of rows) {
    if (live === undefined ? written === undefined : cur === next) continue;
    const show = (v: string | number): string | number =>
      typeof v === "number" ? formatDuration(v) : v;
    out.push({
      path,
      ...(cur === undefined ? {} : { old: show(cur) }),
      new: written ?? show(next),
    });
  }
  return out;
}

/**
 * Runtime, container limits and build args (issue 12): compared with the defaults filled in;
 * a create shows only those the spec gives.
 */
function runtimeFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const want = wantedRuntime(spec);
  const c = spec.container ?? {};
  const mem = (mb: number | undefined): string => (mb === undefined ? "(default)" : `${mb}M`);
  const opt = (v: number | boolean | undefined): string | number | boolean => v ?? "(default)";
  const rows: [string, string | number | boolean, string | number | boolean, boolean][] = [
    ["runtime", want.runtime, live?.runtime ?? "process", spec.runtime !== undefined],
    [
      "container.memory",
      mem(want.container.memoryMb),
      mem(live?.container?.memoryMb),
      c.memory !== undefined,
    ],
    ["container.pids", opt(want.container.pids), opt(live?.container?.pids), c.pids !== undefined],
    [
      "container.readOnly",
      opt(want.container.readOnly),
      opt(live?.container?.readOnly),
      c.readOnly !== undefined,
    ],
    [
      "buildArgs",
      want.buildArgs.join(", ") || "(none)",
      (live?.buildArgs ?? []).join(", ") || "(none)",
      spec.buildArgs !== undefined,
    ],
  ];
  const out: FieldChange[] = [];
  for (const [path, next, cur, written] of rows) {
    if (live === undefined ? !written : cur === next) continue;
    out.push({ path, ...(live === undefined ? {} : { old: cur }), new: next });
  }
  return out;
}

/** HTTPS redirect and HSTS (issue 13): off unless the spec turns them on. */
function httpsFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const want = wantedHttps(spec);
  const rows: [string, boolean | number, boolean | number, boolean][] = [
    [
      "httpsRedirect",
      want.httpsRedirect,
      live?.httpsRedirect ?? false,
      spec.httpsRedirect !== undefined,
    ],
    ["hsts", want.hsts, live?.hsts ?? 0, spec.hsts !== undefined],
  ];
  const out: FieldChange[] = [];
  for (const [path, next, cur, written] of rows) {
    if (live === undefined ? !written : cur === next) continue;
    out.push({ path, ...(live === undefined ? {} : { old: cur }), new: next });
  }
  return out;
}

/** The test command and its limit (issue 15): none and the default unless the spec gives them. */
function testFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const want = wantedTests(spec);
  const limit = (ms: number | null | undefined): string =>
    ms === null || ms === undefined ? "(default 10m)" : formatDuration(ms);
  const rows: [string, string, string, boolean][] = [
    ["test", want.test || "(none)", live?.test ?? "(none)", spec.test !== undefined],
    [
      "testTimeout",
      spec.testTimeout ?? limit(want.testTimeoutMs),
      limit(live?.testTimeoutMs),
      spec.testTimeout !== undefined,
    ],
  ];
  const same = (path: string, next: string, cur: string): boolean =>
    path === "testTimeout"
      ? (want.testTimeoutMs ?? null) === (live?.testTimeoutMs ?? null)
      : next === cur;
  const out: FieldChange[] = [];
  for (const [path, next, cur, written] of rows) {
    if (live === undefined ? !written : same(path, next, cur)) continue;
    out.push({ path, ...(live === undefined ? {} : { old: cur }), new: next });
  }
  return out;
}

/**
 * The release phase's limit (issue 15): only when the spec gives it; left out, the app keeps
 * whatever `apps:set release-timeout=…` gave it.
 */
function releaseTimeoutFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const want = wantedReleaseTimeout(spec);
  if (want === undefined || spec.releaseTimeout === undefined) return [];
  if (live === undefined) return [{ path: "releaseTimeout", new: spec.releaseTimeout }];
  if (live.releaseTimeoutMs === want) return [];
  const old =
    live.releaseTimeoutMs === undefined
      ? `(default ${formatDuration(RELEASE_TIMEOUT_MS)})`
      : formatDuration(live.releaseTimeoutMs);
  return [{ path: "releaseTimeout", old, new: spec.releaseTimeout }];
}

/**
 * Placement settings (issue 16): only those the spec gives; left out, the app keeps what
 * `apps:set cpu=… constraint=… spread=…` gave it.
 */
function placementFields(spec: AppSpec, live: LiveApp | undefined): FieldChange[] {
  const out: FieldChange[] = [];
  const rows: [string, unknown, unknown][] = [
    ["cpu", spec.cpu, live?.cpu],
    ["constraints", spec.constraints, live?.constraints],
    ["spread", spec.spread, live?.spread],
  ];
  for (const [path, want, cur] of rows) {
    if (want === undefined) continue;
    if (live !== undefined && JSON.stringify(want) === JSON.stringify(cur ?? null)) continue;
    if (path === "constraints" && (want as string[]).length === 0 && cur === undefined) continue;
    out.push({ path, ...(live === undefined ? {} : { old: cur ?? "(none)" }), new: want });
  }
  return out;
}

function formationFields(
  spec: AppSpec,
  live: LiveApp | undefined,
  hasSource: boolean,
): FieldChange[] {
  const types = live?.processTypes ?? [];
  const want = wantedFormation(spec, types);
  const out: FieldChange[] = [];
  for (const type of Object.keys(want).sort()) {
    const cur = live?.formation[type];
    if (cur === want[type]) continue;
    // Nothing to scale before the first build: the spec's counts wait for code.
    const waits = types.length === 0 && !hasSource;
    out.push({
      path: `formation.${type}`,
      ...(cur === undefined ? {} : { old: cur }),
      new: want[type],
      ...(waits ? { info: true } : {}),
    });
  }
  return out;
}

const oldOf = (config: Readonly<Record<string, string>>, k: string): { old?: string } =>
  k in config ? { old: config[k]! } : {};
