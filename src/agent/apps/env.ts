import { join } from "node:path";
import type { TaskSpec } from "../../drivers/driver.js";
import type { Assignment } from "../../model/app.js";

/** The agent's environment that instances inherit: enough to find programs, nothing secret. */
export function defaultBaseEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
  };
  for (const name of ["LANG", "LC_ALL", "TZ"]) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/**
 * An instance's environment: the base (PATH…; HOME is the app directory, as on Heroku), then
 * the app's config, then what Gantry sets (config cannot override PORT).
 */
export function instanceEnv(i: {
  baseEnv: Record<string, string>;
  dir: string;
  config: Record<string, string> | undefined;
  port: number | undefined;
  assignment: Assignment;
  source: string;
}): Record<string, string> {
  const a = i.assignment;
  return {
    ...i.baseEnv,
    HOME: join(i.dir, "app"),
    ...i.config,
    PORT: String(i.port),
    GANTRY_INSTANCE_ID: a.id,
    GANTRY_APP: a.app,
    GANTRY_RELEASE: String(a.release),
    GANTRY_PROCESS: i.source,
  };
}

/**
 * What the driver runs for an assignment. An image (runtime docker) brings its own files and
 * PATH: the agent's PATH and the host HOME are left out, so the image's ENV and its user's
 * home apply (what the app's config sets still goes on top). A slug runs from its unpacked directory, in a container on
 * Gantry's base image when its runtime is docker.
 */
export function taskSpec(i: {
  assignment: Assignment;
  dir: string;
  /** The instance's environment (instanceEnv) and the base it started from. */
  env: Record<string, string>;
  baseEnv: Record<string, string>;
  logFile: string;
  source: string;
}): TaskSpec {
  const a = i.assignment;
  const spec: TaskSpec = {
    id: a.id,
    cwd: join(i.dir, "app"),
    command: a.command,
    env: i.env,
    logFile: i.logFile,
  };
  if (a.runtime !== "docker") return spec;
  spec.labels = {
    "gantry.app": a.app,
    "gantry.release": String(a.release),
    "gantry.process": i.source,
  };
  if (a.container !== undefined) spec.container = a.container;
  if (a.image !== undefined) {
    spec.image = a.image;
    // Only the agent's values: a PATH or HOME the app's config sets stays.
    const env = { ...i.env };
    if (env["PATH"] === i.baseEnv["PATH"]) delete env["PATH"];
    if (env["HOME"] === join(i.dir, "app")) delete env["HOME"];
    spec.env = env;
  }
  return spec;
}
