import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { ResourceContext, ResourceType } from "../types.js";
import type { InitSystem } from "./system/init.js";
import { run, type Runner } from "./system/run.js";
import { systemdInit } from "./system/systemd.js";
import { sysvInit } from "./system/sysv.js";

const fields = z.strictObject({
  state: z.enum(["running", "stopped"]).optional(),
  /** Started at boot. */
  enabled: z.boolean().optional(),
});

export type ServiceProps = z.infer<typeof fields>;

/** Unit and init script names: no path separators, nothing an init system would read as a flag. */
const SERVICE_NAME = /^[A-Za-z0-9_@][A-Za-z0-9_@.:-]*$/;

/** The service type with its commands run by `runner` (tests count them). */
export function createServiceType(runner: Runner = run): ResourceType<ServiceProps> {
  const initFor = (ctx: ResourceContext): InitSystem => {
    const deps = { runner, opts: { signal: ctx.signal, redact: ctx.redact } };
    return ctx.facts.init === "systemd" ? systemdInit(deps) : sysvInit(deps);
  };
  return {
    type: "service",
    fields,
    validate(name) {
      if (!name.includes("{{") && !SERVICE_NAME.test(name))
        return { field: "service", message: `${JSON.stringify(name)} is not a valid service name` };
      return undefined;
    },
    async inspect(name, props, ctx) {
      if (!SERVICE_NAME.test(name))
        throw new ResourceFailed(`${JSON.stringify(name)} is not a valid service name`);
      const init = initFor(ctx);
      const now = await init.status(name);
      const steps: { change: string; apply: () => Promise<void> }[] = [];
      if (props.enabled === false && now.fixedEnabled !== undefined)
        throw new ResourceFailed(`service ${name} cannot be disabled: ${now.fixedEnabled}`);
      if (props.enabled !== undefined && props.enabled !== now.enabled)
        steps.push(
          props.enabled
            ? { change: "enable", apply: () => init.enable(name) }
            : { change: "disable", apply: () => init.disable(name) },
        );
      const wantRunning = props.state === undefined ? undefined : props.state === "running";
      if (wantRunning !== undefined && wantRunning !== now.running)
        steps.push(
          wantRunning
            ? { change: "start", apply: () => init.start(name) }
            : { change: "stop", apply: () => init.stop(name) },
        );
      return {
        changes: steps.map((s) => s.change),
        async apply() {
          for (const s of steps) await s.apply();
        },
      };
    },
  };
}

/** `service: NAME`: running or stopped, enabled at boot or not; systemd or init.d scripts. */
export const serviceType = createServiceType();
