import * as z from "zod";
import {
  AppSchema,
  ConfigNameSchema,
  ContainerOptionsSchema,
  DomainSchema,
  FormationSchema,
  HSTS_DEFAULT_SECONDS,
  HstsSecondsSchema,
  RuntimeSchema,
  type ContainerOptions,
  type Formation,
  type Runtime,
} from "../../model/app.js";
import { parseMemoryMb } from "../../model/app-set.js";
import { ConstraintsSchema, CpuSchema, LabelNameSchema } from "../../model/placement.js";
import { durationMs, durationSchema } from "../../model/duration.js";

/** What an app gets when gantry.yaml leaves a setting out (the same as `apps:create`). */
export const APP_SPEC_DEFAULTS = { healthPath: "/", deployTimeoutMs: 30_000, drainMs: 5000 };

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const MEMORY = ContainerOptionsSchema.shape.memoryMb.unwrap();

/** A memory size: `512M`, `1G` or a number of MiB, within the container limits. */
const memorySchema = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const mb = parseMemoryMb(value);
  if (mb === undefined)
    ctx.addIssue({ code: "custom", message: `"${value}" is not a size like 512M or 1G` });
  else if (!MEMORY.safeParse(mb).success)
    ctx.addIssue({ code: "custom", message: `must be between 16M and 1024G, got "${value}"` });
});

/** `hsts: true` (one year), `false`, or a max-age in seconds (0: off). */
const hstsSpecSchema = z.union([z.boolean(), z.number()]).superRefine((value, ctx) => {
  if (typeof value === "number" && !HstsSecondsSchema.safeParse(value).success)
    ctx.addIssue({
      code: "custom",
      message: `must be true, false or a max-age in whole seconds up to 63072000, got ${value}`,
    });
});

/** `apps.<name>.container`: limits and options of the app's containers (runtime docker). */
const ContainerSpecSchema = z.strictObject({
  memory: memorySchema.optional(),
  pids: ContainerOptionsSchema.shape.pids,
  readOnly: ContainerOptionsSchema.shape.readOnly,
});

/**
 * `apps.<name>` in gantry.yaml. What it leaves out is at its default: no domains, no config,
 * formation web=1 (others 0), health path `/`, deploy timeout 30s, drain 5s. The stack owns the
 * whole config: a var that is neither in `config` nor in `secrets` is removed.
 */
export const AppSpecSchema = z.strictObject({
  /** Instances per process type, e.g. `{web: 2, worker: 1}`. */
  formation: FormationSchema.optional(),
  /** Config vars that may live in git. */
  config: z.record(ConfigNameSchema, scalar).optional(),
  /** Names of config vars set by hand (`gantry config:set`): the stack keeps them, never reads them. */
  secrets: z
    .array(ConfigNameSchema)
    .max(1000)
    .refine((l) => new Set(l).size === l.length, "lists a name twice")
    .optional(),
  domains: z
    .array(DomainSchema)
    .max(100)
    .refine((l) => new Set(l).size === l.length, "lists a domain twice")
    .optional(),
  healthPath: AppSchema.shape.healthPath.optional(),
  deployTimeout: durationSchema(1000, 3_600_000).optional(),
  drain: durationSchema(0, 600_000).optional(),
  /** How its instances run: `process` (default) or `docker`. */
  runtime: RuntimeSchema.optional(),
  /** Container limits: `{memory: 512M, pids: 256, readOnly: true}` (absent: the defaults). */
  container: ContainerSpecSchema.optional(),
  /** Config vars passed to Dockerfile builds as build args (no other config reaches a build). */
  buildArgs: z
    .array(ConfigNameSchema)
    .max(50)
    .refine((l) => new Set(l).size === l.length, "lists a name twice")
    .optional(),
  /** Plain HTTP answered with a 308 to HTTPS, for names the router has a certificate for. */
  httpsRedirect: z.boolean().optional(),
  /** HTTPS answers carry HSTS: `true` (one year), `false`, or a max-age in seconds. */
  hsts: hstsSpecSchema.optional(),
  /** A folder of the stack with the app's code: built and deployed when its content changes. */
  source: z.string().min(1).max(1024).optional(),
  /**
   * Tests before release (issue 15): the command every build runs before it is released (absent:
   * the Procfile's `test:` line, if any), and how long it may take (default 10m).
   */
  test: z.string().min(1).max(4000).optional(),
  testTimeout: durationSchema(1000, 6 * 3_600_000).optional(),
  /**
   * How long the release phase (a Procfile `release:` command) may run (issue 15). Absent: the
   * app's value is left alone (`apps:set release-timeout=…`; default 10m).
   */
  releaseTimeout: durationSchema(1000, 6 * 3_600_000).optional(),
  /**
   * Placement (issue 16, docs/scheduler.md): CPUs reserved per instance, node label constraints
   * `label=value`, the node label to spread across. Absent: the app's value is left alone.
   */
  cpu: CpuSchema.optional(),
  constraints: ConstraintsSchema.optional(),
  spread: LabelNameSchema.optional(),
});
export type AppSpec = z.infer<typeof AppSpecSchema>;

/** The settings an app spec asks for, defaults filled in, in the API's units. */
export interface AppSettingsWanted {
  healthPath: string;
  deployTimeoutMs: number;
  drainMs: number;
}

export function wantedSettings(spec: AppSpec): AppSettingsWanted {
  return {
    healthPath: spec.healthPath ?? APP_SPEC_DEFAULTS.healthPath,
    deployTimeoutMs:
      spec.deployTimeout === undefined
        ? APP_SPEC_DEFAULTS.deployTimeoutMs
        : durationMs(spec.deployTimeout),
    drainMs: spec.drain === undefined ? APP_SPEC_DEFAULTS.drainMs : durationMs(spec.drain),
  };
}

/** The router settings an app spec asks for (issue 13), defaults (off) filled in. */
export function wantedHttps(spec: AppSpec): { httpsRedirect: boolean; hsts: number } {
  const h = spec.hsts;
  return {
    httpsRedirect: spec.httpsRedirect ?? false,
    hsts: h === true ? HSTS_DEFAULT_SECONDS : h === false || h === undefined ? 0 : h,
  };
}

/** The test command ("" none: the Procfile's applies) and limit (null: the default) a spec asks for. */
export function wantedTests(spec: AppSpec): { test: string; testTimeoutMs: number | null } {
  return {
    test: spec.test ?? "",
    testTimeoutMs: spec.testTimeout === undefined ? null : durationMs(spec.testTimeout),
  };
}

/** The release phase's limit a spec asks for (ms); undefined: the spec leaves it alone. */
export function wantedReleaseTimeout(spec: AppSpec): number | undefined {
  return spec.releaseTimeout === undefined ? undefined : durationMs(spec.releaseTimeout);
}

/** How an app spec asks its instances to run (issue 12), defaults filled in. */
export interface AppRuntimeWanted {
  runtime: Runtime;
  container: ContainerOptions;
  buildArgs: string[];
}

export function wantedRuntime(spec: AppSpec): AppRuntimeWanted {
  const c = spec.container ?? {};
  const memoryMb = c.memory === undefined ? undefined : parseMemoryMb(c.memory);
  return {
    runtime: spec.runtime ?? "process",
    container: {
      ...(memoryMb === undefined ? {} : { memoryMb }),
      ...(c.pids === undefined ? {} : { pids: c.pids }),
      ...(c.readOnly === undefined ? {} : { readOnly: c.readOnly }),
    },
    buildArgs: spec.buildArgs ?? [],
  };
}

/**
 * How many instances of each type the spec wants, given the types live now: the spec's counts,
 * and the default for any other type (1 for web, 0 for the rest, as on Heroku).
 */
export function wantedFormation(spec: AppSpec, liveTypes: readonly string[]): Formation {
  const out: Formation = {};
  for (const type of liveTypes) out[type] = type === "web" ? 1 : 0;
  return { ...out, ...(spec.formation ?? {}) };
}
