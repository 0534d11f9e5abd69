/**
 * The stack engine's kinds against a real API and store in-process, started before the test
 * file's tests and closed after them: the kinds' context, with what they say in `progress`.
 */
import { afterAll, beforeAll } from "vitest";
import type { KindContext } from "../../src/spec/kind.js";
import { defaultRegistry } from "../../src/spec/kinds/index.js";
import { parseStack } from "../../src/spec/load.js";
import { startTestApi, type TestApi } from "./api.js";

export interface StackApi {
  /** The API (once the file's tests run). */
  readonly t: TestApi;
  readonly registry: ReturnType<typeof defaultRegistry>;
  /** What the kinds said, in order. */
  readonly progress: string[];
  /** The kinds' context, as stack `pools` in /stack, as the admin. */
  ctx(signal?: AbortSignal): KindContext;
  /** A gantry.yaml of /stack, without environment. */
  parse(text: string): ReturnType<typeof parseStack>;
}

export function stackApi(): StackApi {
  let t: TestApi | undefined;
  beforeAll(async () => {
    t = await startTestApi();
  });
  afterAll(async () => {
    await t?.close();
  });
  const registry = defaultRegistry();
  const progress: string[] = [];
  const api = (): TestApi => {
    if (t === undefined) throw new Error("the test API runs only while the file's tests do");
    return t;
  };
  return {
    get t() {
      return api();
    },
    registry,
    progress,
    ctx: (signal) => ({
      client: api().admin,
      dir: "/stack",
      stack: { name: "pools" },
      progress: (line) => progress.push(line),
      reveal: () => undefined,
      ...(signal === undefined ? {} : { signal }),
    }),
    parse: (text) => parseStack("/stack", text, registry, { env: {} }),
  };
}
