/**
 * Converge: node configuration from state files. This file is the contract between the parts:
 *
 *   states dir ──load.ts──▶ StateSet ──compile.ts──▶ Plan (ordered Steps) ──engine.ts──▶ Report
 *                                           ▲                                   │
 *                                 facts.ts, vars, role                  resources/<type>.ts
 *
 * - load: reads top.yaml and state files (YAML with line numbers), validates every field, and
 *   fails with file:line:field before anything runs.
 * - compile: picks the states for the roles, merges vars (state defaults < role < node < -e),
 *   expands `forEach`, evaluates `when`, renders `{{ }}` in string fields, checks that every
 *   require/notify/onChanges target exists, orders the steps (file order, then require and
 *   onChanges edges; cycles are an error) — all before anything changes.
 * - engine: runs the steps in order through the resource types, each in two phases: `inspect`
 *   (read only: what differs) then `apply` (only when not in check mode). Then handlers.
 * - transports (local, ssh, agent) move a Job to a runner and Events back.
 */
import type * as z from "zod";

/** Where a value came from in the states dir, for error messages: `web.yaml:12`. */
export interface SourceRef {
  /** Path relative to the states dir (`nginx.yaml`, `top.yaml`). */
  file: string;
  /** 1-based line. */
  line: number;
}

/** What the node is: gathered once per run (facts.ts), readable as `facts.*` in templates. */
export interface Facts {
  os: string; // "linux"
  distribution: { id: string; version: string; codename: string }; // debian 12 bookworm
  arch: string; // "x64"
  cpus: number;
  memoryMb: number;
  hostname: string;
  /** Non-internal IPv4/IPv6 addresses, loopback last. */
  addresses: string[];
  /** systemd when /run/systemd/system exists, else "sysv". */
  init: "systemd" | "sysv";
  roles: string[];
  labels: Record<string, string>;
  /** A pool node's address on the address plan (`10.100.6.2`): its `address` label. */
  address?: string;
  /** A pool node's pool: its `pool` label. */
  pool?: string;
}

/**
 * The control plane as a state reads it (template `key()`/`service()`, `waitFor`, `runOnce`):
 * optional, present when a server is reachable. Every read is reported to `onRead` so an agent
 * knows which keys and services to watch.
 */
export interface ControlPlane {
  key(key: string): Promise<string | undefined>;
  service(name: string): Promise<{ address: string; port: number; node: string; id: string }[]>;
  /** Wait until the key exists / the service has a passing instance, or throw after `timeoutMs`. */
  waitFor(
    target: { key: string } | { service: string },
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void>;
  /**
   * Run `fn` at most once per `scope` across every node: take a lock, skip when a done marker
   * exists, write the marker after `fn` succeeds. Resolves to whether `fn` ran here.
   */
  once(scope: string, fn: () => Promise<void>): Promise<boolean>;
  /** A value from the encrypted config store (app config); it is redacted from all output. */
  secret(app: string, name: string): Promise<string | undefined>;
}

/** What a resource type gets besides its own fields. */
export interface ResourceContext {
  /** Check mode: nothing may change. `inspect` never changes anything regardless. */
  readonly check: boolean;
  /**
   * A file of the states dir by relative path (`templates/site.conf.j2`), for `source:` fields.
   * Throws a StateError naming the path when it does not exist. The states dir travels with the
   * Job (over SSH, from the control plane), so types never read it from disk themselves.
   */
  source(path: string): string;
  readonly facts: Facts;
  /** The resource's merged vars (after forEach: with `item`, and `key`/`value` for maps). */
  readonly vars: Record<string, unknown>;
  /** Render a nunjucks template string with vars + facts (+ key/service when connected). */
  render(template: string, file: string): Promise<string>;
  /** Replace every secret value in `s` with `[secret]`: for messages a type builds itself. */
  redact(s: string): string;
  /** Progress lines for long work (a package download); shown live, kept out of the report. */
  log(line: string): void;
  readonly signal: AbortSignal;
  readonly controlPlane: ControlPlane | undefined;
}

/**
 * What `inspect` found: the differences between the system and the resource's desired state.
 * `changes` empty = in the desired state (status ok). `apply` makes exactly these changes.
 */
export interface Inspection {
  /** One short human line per difference: `mode 0600 → 0644`, `create`, `install 1.2-1`. */
  changes: string[];
  /** A unified diff for content changes (file, template, line), already redacted. */
  diff?: string;
  /** Make the changes. Not called in check mode. Throws a ResourceFailed (or any error) on failure. */
  apply(): Promise<void>;
  /**
   * For types like exec whose guard says "nothing to do": report this status instead of ok.
   * Unset = "ok" when changes is empty.
   */
  skipReason?: string;
}

/**
 * One resource type (file, package, exec…). Registered in resources/index.ts.
 * `fields` validates everything but the common fields (id, require, notify, onChanges, when,
 * forEach, waitFor, runOnce, secret) — those the loader handles for every type.
 */
export interface ResourceType<P = Record<string, unknown>> {
  readonly type: string;
  /** A zod object schema, strict (unknown fields are errors), for this type's own fields. */
  readonly fields: z.ZodType<P>;
  /**
   * Checks that need the whole resource, not one field (`file` needs content or source, not
   * both). Return the field and message of the first problem, or undefined.
   */
  validate?(name: string, props: P): { field: string; message: string } | undefined;
  inspect(name: string, props: P, ctx: ResourceContext): Promise<Inspection>;
  /**
   * Optional batching (package): inspect several adjacent resources of this type at once
   * (one dpkg query); the engine falls back to `inspect` per resource when absent. Applying is
   * still per Inspection, but an implementation may make the first apply do the whole batch's
   * work and the rest no-ops.
   */
  inspectBatch?(items: { name: string; props: P }[], ctx: ResourceContext): Promise<Inspection[]>;
}

/** A resource as written in a state file, after schema validation (load.ts). */
export interface ResourceDecl {
  type: string;
  /** The value of the type key: `/etc/app.conf` for `file: /etc/app.conf`. May hold `{{ }}`. */
  name: string;
  /** `type:name` unless the file set `id`. */
  id: string;
  /** The type's own fields, raw (strings may hold `{{ }}`). */
  props: Record<string, unknown>;
  require: string[];
  notify: string[];
  onChanges: string[];
  /** A nunjucks expression on vars and facts: `facts.distribution.id == "debian"`. */
  when?: string;
  /** A list (`item`), or a map (`key`, `value`, and `item` = {key, value}); may be a `{{ }}` var. */
  forEach?: unknown;
  waitFor?: { key: string; timeoutMs: number } | { service: string; timeoutMs: number };
  runOnce?: boolean;
  /** `secret: true`: the resource's diff is never shown (its content is secret as a whole). */
  secret?: boolean;
  source: SourceRef;
}

/** One state file: `nginx.yaml` is state `nginx`. */
export interface StateDecl {
  name: string;
  file: string;
  vars: Record<string, unknown>;
  /** Names of vars whose values are secret (redacted in all output). */
  secretVars: string[];
  resources: ResourceDecl[];
  handlers: ResourceDecl[];
}

/** `top.yaml`: role → states, with optional role vars. */
export interface TopDecl {
  roles: Record<string, { states: string[]; vars: Record<string, unknown>; source: SourceRef }>;
}

/** A loaded, validated states dir. */
export interface StateSet {
  dir: string;
  top: TopDecl | undefined;
  states: Map<string, StateDecl>;
}

/** One thing the engine will run, fully rendered. Handlers are Steps with `handler: true`. */
export interface Step {
  id: string;
  type: string;
  name: string;
  props: Record<string, unknown>;
  require: string[];
  notify: string[];
  onChanges: string[];
  waitFor?: ResourceDecl["waitFor"];
  runOnce?: boolean;
  secret?: boolean;
  handler: boolean;
  state: string;
  source: SourceRef;
  vars: Record<string, unknown>;
}

/** What compile produces: steps in run order, handlers by id, and the secrets to redact. */
export interface Plan {
  steps: Step[];
  handlers: Map<string, Step>;
  secrets: string[];
  /** Resources whose `when` was false: reported as skipped with this reason. */
  skipped: { id: string; type: string; name: string; state: string; reason: string }[];
}

export type ResultStatus = "ok" | "changed" | "failed" | "skipped";

/** One resource's outcome, as `--json` prints it and the agent stores it. */
export interface ResourceResult {
  id: string;
  type: string;
  name: string;
  state: string;
  handler: boolean;
  status: ResultStatus;
  /** In check mode "changed" means "would change". */
  changes: string[];
  diff?: string;
  /** Why failed or skipped. */
  message?: string;
  durationMs: number;
}

export interface Summary {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
}

export interface Report {
  host: string;
  check: boolean;
  summary: Summary;
  resources: ResourceResult[];
  startedAt: string;
  durationMs: number;
}

/** What the engine streams while it runs (live progress; ssh and agent forward these). */
export type ConvergeEvent =
  | { kind: "start"; host: string; steps: number; check: boolean }
  | { kind: "resource"; host: string; result: ResourceResult }
  | { kind: "log"; host: string; id: string; line: string }
  | { kind: "done"; host: string; report: Report }
  | { kind: "error"; host: string; message: string; code: string };

/**
 * What a runner needs to converge one host: everything is inside (the states dir travels as
 * files so a runner on the far side of SSH needs nothing else).
 */
export interface Job {
  /** States dir files: relative path → UTF-8 content (YAML, templates, sources). */
  files: Record<string, string>;
  /** Roles to apply (via top.yaml), or explicit state names; one of the two is non-empty. */
  roles: string[];
  states: string[];
  /** Node vars (inventory host vars, or the node's vars in the control plane). */
  nodeVars: Record<string, unknown>;
  /** `-e k=v` from the command line: the highest precedence. */
  extraVars: Record<string, unknown>;
  labels: Record<string, string>;
  check: boolean;
  /** Names (host) shown in events and the report. */
  host: string;
}
