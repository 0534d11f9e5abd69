import type { Watch, WatchEvent } from "../types.js";

let counter = 0;

/** A key prefix no other test uses, so tests can share one server. */
export function uniquePrefix(name: string): string {
  counter += 1;
  return `conf/${name}/${process.pid}-${Date.now().toString(36)}-${counter}/`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Read batches from a watch until `n` events arrived; fails after `timeoutMs`. */
export async function collect(
  watch: Watch,
  n: number,
  timeoutMs = 10_000,
): Promise<{ events: WatchEvent[]; batches: WatchEvent[][] }> {
  const events: WatchEvent[] = [];
  const batches: WatchEvent[][] = [];
  const timer = setTimeout(() => watch.cancel(), timeoutMs);
  try {
    for await (const batch of watch) {
      batches.push(batch);
      events.push(...batch);
      if (events.length >= n) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (events.length < n) {
    throw new Error(`watch delivered ${events.length} of ${n} events within ${timeoutMs} ms`);
  }
  return { events, batches };
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** The error iterating a watch ends with (fails when it ends cleanly or times out). */
export async function watchFailure(watch: Watch, timeoutMs = 10_000): Promise<unknown> {
  const timer = setTimeout(() => watch.cancel(), timeoutMs);
  try {
    for await (const _batch of watch) {
      // draining: only the failure matters
    }
  } catch (err) {
    return err;
  } finally {
    clearTimeout(timer);
  }
  throw new Error("expected the watch to fail, but it ended cleanly");
}

/** Poll `check` until it returns true or the deadline passes. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}

export const utf8 = (v: Uint8Array): string => Buffer.from(v).toString("utf8");
