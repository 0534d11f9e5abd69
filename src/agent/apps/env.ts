import { join } from "node:path";
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
