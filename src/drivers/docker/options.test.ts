import { describe, expect, it } from "vitest";
import type { TaskSpec } from "../driver.js";
import { chooseUser, containerOptions, exitFromStatus, NOBODY, STOP_WRAPPER } from "./options.js";

const spec: TaskSpec = {
  id: "web-1",
  cwd: "/data/instances/web-1/app",
  command: "node server.js",
  env: { PORT: "20001", GREETING: "a b; $(rm -rf /)" },
  logFile: "/data/instances/web-1/output.log",
};
const base = { ref: "gantry/base:abc", user: "", base: true };
const image = { ref: "127.0.0.1:5000/app@sha256:" + "a".repeat(64), user: "", base: false };

describe("containerOptions", () => {
  it("has secure defaults: no new privileges, no capabilities, limits, init, no engine restarts", () => {
    const h = containerOptions(spec, base).HostConfig!;
    expect(h.SecurityOpt).toEqual(["no-new-privileges"]);
    expect(h.CapDrop).toEqual(["ALL"]);
    expect(h.CapAdd).toBeUndefined();
    expect(h.PidsLimit).toBe(512);
    expect(h.Memory).toBe(512 * 1024 * 1024);
    expect(h.MemorySwap).toBe(h.Memory);
    expect(h.Init).toBe(true);
    expect(h.RestartPolicy).toEqual({ Name: "no" });
    expect(h.NetworkMode).toBe("host");
    expect(h.ReadonlyRootfs).toBe(false);
    expect(h.Tmpfs).toBeUndefined();
  });

  it("takes limits and a read-only root (with a writable /tmp) from the container options", () => {
    const h = containerOptions(
      { ...spec, container: { memoryMb: 64, pids: 32, readOnly: true } },
      base,
    ).HostConfig!;
    expect(h.Memory).toBe(64 * 1024 * 1024);
    expect(h.PidsLimit).toBe(32);
    expect(h.ReadonlyRootfs).toBe(true);
    expect(Object.keys(h.Tmpfs ?? {})).toEqual(["/tmp"]);
  });

  it("labels the container with its instance, on top of the spec's labels (which cannot override it)", () => {
    const o = containerOptions(
      { ...spec, labels: { "gantry.app": "hello", "gantry.instance": "forged" } },
      base,
    );
    expect(o.Labels).toEqual({
      "gantry.app": "hello",
      "gantry.managed": "1",
      "gantry.instance": "web-1",
    });
  });

  it("passes the command and config as data: the command is the wrapper's argument, env entries whole", () => {
    const o = containerOptions(spec, base);
    expect(o.Entrypoint).toEqual(["/bin/sh", "-c", STOP_WRAPPER, "gantry"]);
    expect(o.Cmd).toEqual(["node server.js"]);
    expect(STOP_WRAPPER).not.toContain("node server.js");
    expect(o.Env).toContain("GREETING=a b; $(rm -rf /)");
  });

  it("leaves an image's own ENTRYPOINT and CMD alone when the command is empty", () => {
    const o = containerOptions({ ...spec, command: "", image: image.ref }, image);
    expect(o.Entrypoint).toBeUndefined();
    expect(o.Cmd).toBeUndefined();
  });

  it("mounts the app directory read-only at its own path on the base image only", () => {
    const b = containerOptions(spec, base);
    expect(b.WorkingDir).toBe(spec.cwd);
    expect(b.HostConfig!.Mounts).toEqual([
      { Type: "bind", Source: spec.cwd, Target: spec.cwd, ReadOnly: true },
    ]);
    expect(b.HostConfig!.Binds).toBeUndefined();
    const i = containerOptions({ ...spec, image: image.ref }, image);
    expect(i.WorkingDir).toBeUndefined();
    expect(i.HostConfig!.Mounts).toBeUndefined();
    expect(i.Image).toBe(image.ref);
  });
});

describe("chooseUser", () => {
  it("runs as nobody unless the image or the spec names a user", () => {
    expect(chooseUser({}, base)).toBe(NOBODY);
    expect(chooseUser({}, image)).toBe(NOBODY);
    expect(chooseUser({}, { ...image, user: "app" })).toBe("app");
    expect(chooseUser({}, { ...image, user: "root" })).toBe("root");
    expect(chooseUser({ user: "1000:1000" }, { ...image, user: "app" })).toBe("1000:1000");
  });
});

describe("exitFromStatus", () => {
  it("reads 128+n as signal n, as docker-init reports it", () => {
    expect(exitFromStatus(0)).toEqual({ exitCode: 0, signal: null });
    expect(exitFromStatus(3)).toEqual({ exitCode: 3, signal: null });
    expect(exitFromStatus(128)).toEqual({ exitCode: 128, signal: null });
    expect(exitFromStatus(137)).toEqual({ exitCode: null, signal: "SIGKILL" });
    expect(exitFromStatus(143)).toEqual({ exitCode: null, signal: "SIGTERM" });
    expect(exitFromStatus(255)).toEqual({ exitCode: 255, signal: null });
    expect(exitFromStatus(undefined)).toEqual({ exitCode: null, signal: null });
  });
});
