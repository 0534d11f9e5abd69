import { ResourceFailed } from "../../errors.js";
import type { InitDeps, InitSystem } from "./init.js";
import { runOk } from "./run.js";

/** Unit file states that mean "starts at boot", and those no `systemctl disable` can change. */
const ENABLED = new Set(["enabled", "enabled-runtime", "alias", "static", "indirect", "generated"]);
const FIXED = new Set(["static", "indirect", "generated"]);

/** Parse `systemctl show -p A -p B` output (`Key=value` lines). */
export function parseShow(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** systemd units through systemctl: one `systemctl show` per inspect. */
export function systemdInit(deps: InitDeps): InitSystem {
  const systemctl = async (...args: string[]): Promise<string> =>
    runOk(deps.runner, ["systemctl", ...args], { ...deps.opts, timeoutMs: 120_000 });
  return {
    async status(name) {
      const show = parseShow(
        await systemctl(
          "show",
          "-p",
          "LoadState",
          "-p",
          "ActiveState",
          "-p",
          "UnitFileState",
          "--",
          name,
        ),
      );
      if (show.LoadState === "not-found")
        throw new ResourceFailed(`service ${name}: systemd has no unit ${name}`);
      const fileState = show.UnitFileState ?? "";
      return {
        running: show.ActiveState === "active" || show.ActiveState === "reloading",
        enabled: ENABLED.has(fileState),
        ...(FIXED.has(fileState)
          ? { fixedEnabled: `the unit is ${fileState} (no [Install] section to disable)` }
          : {}),
      };
    },
    start: async (name) => void (await systemctl("start", "--", name)),
    stop: async (name) => void (await systemctl("stop", "--", name)),
    enable: async (name) => void (await systemctl("enable", "--", name)),
    disable: async (name) => void (await systemctl("disable", "--", name)),
  };
}
