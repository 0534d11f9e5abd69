import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { GantryError, ValidationError } from "../errors.js";

/** Linux's PM QoS device: while a process holds it open with a value written, idle CPUs wake
 * within that many microseconds (the same knob as tuned's latency-performance profile). */
export const CPU_DMA_LATENCY = "/dev/cpu_dma_latency";

export interface CpuLatencyHold {
  /** The limit asked for, in microseconds. */
  readonly us: number;
  /** Give the request back (idempotent): the CPUs may sleep deeply again. */
  release(): void;
}

/**
 * Ask the kernel to keep idle CPUs ready to run within `us` microseconds (0: never enter an idle
 * state that is slow to leave) for as long as this process holds the request. On a virtual
 * machine a halted vCPU can take milliseconds to wake, and every hop of a request (client →
 * router → app → router → client) wakes a process: this takes those milliseconds out of the
 * router's tail latency, at the cost of CPUs that poll instead of sleeping when idle.
 */
export function holdCpuLatency(us = 0, device = CPU_DMA_LATENCY): CpuLatencyHold {
  if (!Number.isInteger(us) || us < 0 || us > 2_000_000_000)
    throw new ValidationError("CPU wake-up latency must be 0…2000000000 µs");
  let fd: number;
  try {
    fd = openSync(device, "w");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "this kernel has no PM QoS device"
        : code === "EACCES" || code === "EPERM"
          ? "it needs root"
          : `${code ?? "error"}`;
    throw new GantryError(
      "low_latency_unavailable",
      `cannot hold CPU wake-up latency (${device}): ${why}`,
    );
  }
  const value = Buffer.alloc(4);
  value.writeInt32LE(us);
  try {
    writeSync(fd, value);
  } catch (err) {
    closeSync(fd);
    throw new GantryError(
      "low_latency_unavailable",
      `cannot hold CPU wake-up latency (${device}): ${(err as Error).message}`,
    );
  }
  let held = true;
  return {
    us,
    release: () => {
      if (!held) return;
      held = false;
      closeSync(fd);
    },
  };
}

/** The limit the kernel applies now (the smallest one held by any process), in microseconds;
 * undefined when the device cannot be read. */
export function currentCpuLatency(device = CPU_DMA_LATENCY): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(device, "r");
    const buf = Buffer.alloc(4);
    if (readSync(fd, buf, 0, 4, null) !== 4) return undefined;
    return buf.readInt32LE(0);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
