/**
 * `gantry up --low-latency`: the real PM QoS device of this (Linux) machine is held at 0 µs while
 * Gantry runs and given back when it stops; a machine or user that cannot hold it gets one clear
 * line and a non-zero exit before anything starts.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GantryError } from "../src/errors.js";
import { currentCpuLatency, holdCpuLatency } from "../src/server/cpu-latency.js";
import { runCliAs, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

/** What the kernel applies when nobody asks: the device's default (2000 s in µs). */
const UNHELD = 2_000_000_000;

describe("CPU wake-up latency hold", () => {
  it("holds the kernel's limit at 0 µs until released", () => {
    const before = currentCpuLatency();
    expect(before).toBeTypeOf("number");
    const hold = holdCpuLatency(0);
    expect(currentCpuLatency()).toBe(0);
    hold.release();
    hold.release(); // idempotent
    // Another test file may hold it meanwhile (0); nobody leaves it anywhere else.
    expect([UNHELD, 0]).toContain(currentCpuLatency());
  });

  it("names the device and the reason when there is none", () => {
    let err: unknown;
    try {
      holdCpuLatency(0, "/nonexistent/cpu_dma_latency");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GantryError);
    expect((err as GantryError).code).toBe("low_latency_unavailable");
    expect((err as GantryError).message).toBe(
      "cannot hold CPU wake-up latency (/nonexistent/cpu_dma_latency): this kernel has no PM QoS device",
    );
  });

  it("refuses a limit that is not a whole number of microseconds", () => {
    expect(() => holdCpuLatency(-1)).toThrow(/0…2000000000 µs/);
    expect(() => holdCpuLatency(1.5)).toThrow(/0…2000000000 µs/);
  });
});

describe("gantry up --low-latency", () => {
  let g: GantryProcess | undefined;
  afterAll(async () => {
    await g?.cleanup();
  });

  it("holds 0 µs while it runs, says so, and gives it back when it stops", async () => {
    g = await startGantry({ args: ["--low-latency"] });
    const gantry = g;
    await eventually("the start-up summary", async () =>
      gantry.output().includes("Ctrl-C to stop") ? true : undefined,
    );
    expect(g.output()).toMatch(/latency {2}idle CPUs wake at once while Gantry runs/);
    expect(currentCpuLatency()).toBe(0);
    await g.stop();
    expect(g.output()).toContain("stopped");
    expect([UNHELD, 0]).toContain(currentCpuLatency());
  });

  it("stops with one clear line when the user may not hold it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-lowlat-"));
    chmodSync(dir, 0o777);
    try {
      const r = await runCliAs(65534, [
        "up",
        "--low-latency",
        "--data-dir",
        join(dir, "data"),
        "--api-addr",
        `127.0.0.1:${await freePort()}`,
        "--http-addr",
        `127.0.0.1:${await freePort()}`,
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(
        "gantry: cannot hold CPU wake-up latency (/dev/cpu_dma_latency): it needs root",
      );
      expect(r.stdout).not.toContain("is up");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
