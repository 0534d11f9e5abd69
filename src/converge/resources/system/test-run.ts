import type { ResourceContext, ResourceType } from "../../types.js";
import { testContext } from "../test-context.js";
import { run, type Runner } from "./run.js";

/**
 * For the system type tests: parse raw fields like the loader, validate, inspect, and apply
 * unless in check mode. Resolves to the changes inspect reported.
 */
export async function converge<P>(
  type: ResourceType<P>,
  name: string,
  raw: Record<string, unknown>,
  ctx: ResourceContext = testContext(),
): Promise<string[]> {
  const props = type.fields.parse(raw);
  const problem = type.validate?.(name, props);
  if (problem !== undefined) throw new Error(`${problem.field}: ${problem.message}`);
  const inspection = await type.inspect(name, props, ctx);
  if (!ctx.check) await inspection.apply();
  return inspection.changes;
}

/** The real runner, recording every argv it runs. */
export function recordingRunner(): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  const runner: Runner = (argv, opts) => {
    calls.push([...argv]);
    return run(argv, opts);
  };
  return Object.assign(runner, { calls });
}
