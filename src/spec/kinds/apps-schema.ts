import * as z from "zod";
import {
  AppSchema,
  ConfigNameSchema,
  DomainSchema,
  FormationSchema,
  type Formation,
} from "../../model/app.js";
import { durationMs, durationSchema } from "../../model/duration.js";

/** What an app gets when gantry.yaml leaves a setting out (the same as `apps:create`). */
export const APP_SPEC_DEFAULTS = { healthPath: "/", deployTimeoutMs: 30_000, drainMs: 5000 };

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

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
  /** A folder of the stack with the app's code: built and deployed when its content changes. */
  source: z.string().min(1).max(1024).optional(),
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

/**
 * How many instances of each type the spec wants, given the types live now: the spec's counts,
 * and the default for any other type (1 for web, 0 for the rest, as on Heroku).
 */
export function wantedFormation(spec: AppSpec, liveTypes: readonly string[]): Formation {
  const out: Formation = {};
  for (const type of liveTypes) out[type] = type === "web" ? 1 : 0;
  return { ...out, ...(spec.formation ?? {}) };
}
