import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createServiceType, serviceType } from "./service.js";
import { parseShow } from "./system/systemd.js";
import { converge, recordingRunner } from "./system/test-run.js";
import { testContext } from "./test-context.js";

const made: string[] = [];

/** A real LSB init script: start-stop-daemon runs a sleep with a pidfile; status is 0 or 3. */
function initScript(opts: { startWorks?: boolean } = {}): string {
  const name = `gantry-test-svc-${randomBytes(3).toString("hex")}`;
  made.push(name);
  const start =
    opts.startWorks === false
      ? "true"
      : "start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec /bin/sleep -- 600";
  writeFileSync(
    `/etc/init.d/${name}`,
    `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${name}
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Gantry test service
### END INIT INFO
PIDFILE=/run/${name}.pid
case "$1" in
  start) ${start} ;;
  stop) start-stop-daemon --stop --quiet --oknodo --retry 5 --remove-pidfile --pidfile $PIDFILE ;;
  status) start-stop-daemon --status --pidfile $PIDFILE && exit 0; exit 3 ;;
  *) echo "Usage: $0 {start|stop|status}" >&2; exit 2 ;;
esac
`,
    { mode: 0o755 },
  );
  return name;
}

afterAll(() => {
  for (const name of made) {
    quietly(`/etc/init.d/${name}`, "stop");
    quietly("update-rc.d", name, "remove");
    rmSync(`/etc/init.d/${name}`, { force: true });
    rmSync(`/run/${name}.pid`, { force: true });
  }
});

function quietly(...argv: string[]): void {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
  } catch {
    // already gone
  }
}

function isRunning(name: string): boolean {
  try {
    execFileSync(`/etc/init.d/${name}`, ["status"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function links(name: string): string[] {
  return [2, 3, 4, 5].flatMap((l) =>
    readdirSync(`/etc/rc${l}.d`)
      .filter((f) => f.endsWith(name))
      .map((f) => `rc${l}.d/${f.slice(0, 1)}`),
  );
}

describe("service (sysv init scripts)", () => {
  it("starts and enables a service once, then reports nothing to do", async () => {
    const name = initScript();
    const props = { state: "running", enabled: true };
    expect(await converge(serviceType, name, props, testContext({ check: true }))).toEqual([
      "enable",
      "start",
    ]);
    expect(isRunning(name)).toBe(false);
    expect(links(name)).toEqual([]);

    expect(await converge(serviceType, name, props)).toEqual(["enable", "start"]);
    expect(isRunning(name)).toBe(true);
    expect(links(name)).toEqual(["rc2.d/S", "rc3.d/S", "rc4.d/S", "rc5.d/S"]);
    expect(await converge(serviceType, name, props)).toEqual([]);
  });

  it("on drift, check mode reports exactly what apply then changes, and changes nothing", async () => {
    const name = initScript();
    const props = { state: "running", enabled: true };
    await converge(serviceType, name, props);
    execFileSync(`/etc/init.d/${name}`, ["stop"]);
    execFileSync("update-rc.d", [name, "disable"], { stdio: "ignore" });

    const runner = recordingRunner();
    const type = createServiceType(runner);
    const checked = await converge(type, name, props, testContext({ check: true }));
    expect(checked).toEqual(["enable", "start"]);
    expect(isRunning(name)).toBe(false);
    expect(links(name).every((l) => l.endsWith("K"))).toBe(true);
    expect(runner.calls).toEqual([[`/etc/init.d/${name}`, "status"]]);

    expect(await converge(type, name, props)).toEqual(checked);
    expect(isRunning(name)).toBe(true);
    // The K links a disable left are turned back into S links, not added to.
    expect(links(name)).toEqual(["rc2.d/S", "rc3.d/S", "rc4.d/S", "rc5.d/S"]);
    expect(runner.calls.slice(1)).toEqual([
      [`/etc/init.d/${name}`, "status"],
      ["update-rc.d", name, "enable"],
      [`/etc/init.d/${name}`, "start"],
      [`/etc/init.d/${name}`, "status"],
    ]);
    expect(await converge(type, name, props)).toEqual([]);
  });

  it("stops and disables a service, then reports nothing to do", async () => {
    const name = initScript();
    await converge(serviceType, name, { state: "running", enabled: true });
    const props = { state: "stopped", enabled: false };
    expect(await converge(serviceType, name, props)).toEqual(["disable", "stop"]);
    expect(isRunning(name)).toBe(false);
    expect(links(name).every((l) => l.endsWith("K"))).toBe(true);
    expect(await converge(serviceType, name, props)).toEqual([]);
  });

  it("leaves what is not asked for alone", async () => {
    const name = initScript();
    expect(await converge(serviceType, name, { state: "running" })).toEqual(["start"]);
    expect(links(name)).toEqual([]);
    expect(await converge(serviceType, name, { enabled: false })).toEqual([]);
    expect(isRunning(name)).toBe(true);
  });

  it("fails clearly for a service that does not exist", async () => {
    await expect(converge(serviceType, "gantry-no-such-svc", { state: "running" })).rejects.toThrow(
      "service gantry-no-such-svc: there is no /etc/init.d/gantry-no-such-svc (and no systemd on this host)",
    );
  });

  it("fails when a start succeeds but the service is still not running", async () => {
    const name = initScript({ startWorks: false });
    await expect(converge(serviceType, name, { state: "running" })).rejects.toThrow(
      `service ${name}: /etc/init.d/${name} start succeeded but '/etc/init.d/${name} status' still says stopped`,
    );
  });

  it("refuses names that are paths or flags", () => {
    const props = serviceType.fields.parse({});
    expect(serviceType.validate?.("../../bin/sh", props)).toMatchObject({ field: "service" });
    expect(serviceType.validate?.("--all", props)).toMatchObject({ field: "service" });
    expect(serviceType.validate?.("nginx", props)).toBeUndefined();
    expect(serviceType.fields.safeParse({ state: "started" }).success).toBe(false);
  });
});

describe("systemctl show", () => {
  it("parses Key=value lines, values may hold '='", () => {
    expect(
      parseShow("LoadState=loaded\nActiveState=active\nUnitFileState=enabled\nX=a=b\n"),
    ).toEqual({
      LoadState: "loaded",
      ActiveState: "active",
      UnitFileState: "enabled",
      X: "a=b",
    });
  });
});
