import { setFlagsFromString } from "node:v8";

/** V8's default (see `node --v8-options`). */
const GROWTH_FACTOR = 2;

/** Whether the user gave node a V8 flag about `topic` (then ours stay out of the way). */
function given(topic: RegExp): boolean {
  return [...process.execArgv, process.env["NODE_OPTIONS"] ?? ""].some((a) => topic.test(a));
}

/**
 * V8 settings for a long-running `gantry up` / `gantry server`, which is idle most of its life
 * (issue 3: idle RSS of `gantry up` <= 80 MB). Call before the server starts; call the returned
 * function once it has started.
 *
 * - WebAssembly stays on V8's baseline compiler (Liftoff). The only WebAssembly in the process
 *   is undici's HTTP parser (the local agent's fetch); when it turned hot, V8 recompiled it with
 *   its optimizing compiler on a helper thread, whose ~30 MB of scratch memory glibc kept: about
 *   9 MB of idle RSS, for parsing a few small responses a second a little faster.
 * - The young generation stays at its initial size (2 x 1 MB) while starting. Starting keeps
 *   nearly everything it allocates (modules, schemas, routes), which V8 reads as a busy program:
 *   it doubled the young generation up to 2 x 8 MB, carried by the idle server for good. Once
 *   started it may grow again, as soon as requests need it (held small for good, the young
 *   generation costs ~20% more CPU per API request).
 */
export function tuneServerMemory(): () => void {
  if (!given(/liftoff|wasm/)) setFlagsFromString("--liftoff-only");
  if (given(/semi[-_]space/)) return () => undefined;
  setFlagsFromString("--semi-space-growth-factor=1");
  return () => setFlagsFromString(`--semi-space-growth-factor=${GROWTH_FACTOR}`);
}
