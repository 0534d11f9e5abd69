import { existsSync, readdirSync } from "node:fs";
import { ResourceFailed } from "../../errors.js";
import type { InitDeps, InitSystem } from "./init.js";
import { commandFailed, runOk } from "./run.js";

/** The runlevels where an enabled service has an S link (Debian's default runlevel is 2). */
const RUNLEVELS = [2, 3, 4, 5];

/**
 * Init scripts in /etc/init.d, called directly (not through invoke-rc.d, which obeys a
 * policy-rc.d that containers use to refuse every start). LSB status codes: 0 running, 1-3 not.
 * Enabled = an S link in /etc/rc2.d…rc5.d, managed with update-rc.d.
 */
export function sysvInit(deps: InitDeps, root = "/etc"): InitSystem {
  const script = (name: string): string => {
    const path = `${root}/init.d/${name}`;
    if (!existsSync(path))
      throw new ResourceFailed(
        `service ${name}: there is no ${path} (and no systemd on this host)`,
      );
    return path;
  };
  const running = async (name: string): Promise<boolean> => {
    const argv = [script(name), "status"];
    const r = await deps.runner(argv, deps.opts);
    if (r.code === 0) return true;
    if (r.code >= 1 && r.code <= 3) return false;
    throw commandFailed(argv, r, deps.opts.redact);
  };
  const links = (name: string, prefix: "S" | "K" | "SK"): boolean =>
    RUNLEVELS.some((level) =>
      list(`${root}/rc${level}.d`).some((f) =>
        new RegExp(`^[${prefix}]\\d\\d${esc(name)}$`).test(f),
      ),
    );
  const control = async (name: string, action: "start" | "stop"): Promise<void> => {
    const argv = [script(name), action];
    await runOk(deps.runner, argv, { ...deps.opts, timeoutMs: 120_000 });
    const now = await running(name);
    if (now !== (action === "start"))
      throw new ResourceFailed(
        `service ${name}: ${argv.join(" ")} succeeded but '${script(name)} status' still says ${now ? "running" : "stopped"}`,
      );
  };
  return {
    async status(name) {
      return { running: await running(name), enabled: links(name, "S") };
    },
    start: (name) => control(name, "start"),
    stop: (name) => control(name, "stop"),
    async enable(name) {
      script(name);
      // `enable` only turns existing K links back into S links; `defaults` makes the first ones.
      const verb = links(name, "SK") ? "enable" : "defaults";
      await runOk(deps.runner, ["update-rc.d", name, verb], deps.opts);
    },
    async disable(name) {
      script(name);
      await runOk(deps.runner, ["update-rc.d", name, "disable"], deps.opts);
    },
  };
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
