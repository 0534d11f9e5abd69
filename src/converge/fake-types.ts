/**
 * Small in-memory resource types for the loader, compiler and engine tests: the "system" is a
 * Map, so ordering, handlers, failures and check mode can be pinned down without touching disk.
 * Not registered in resources/index.ts; tests pass them through `types`.
 */
import * as z from "zod";
import { ResourceFailed } from "./errors.js";
import { testFacts } from "./resources/test-context.js";
import type { Facts, ResourceType } from "./types.js";

/** The resource tests' plain Debian box, named and labelled like a node of a pool. */
export const fakeFacts: Facts = { ...testFacts, hostname: "node-1", labels: { zone: "a" } };

export interface FakeSystem {
  /** name → value: what `mem` resources manage. */
  values: Map<string, string>;
  /** What was applied, in order (`mem:a`, `run:restart`). */
  applied: string[];
  /** How many times `pkg` inspected in bulk, and with how many items. */
  batches: number[];
}

export function fakeSystem(): FakeSystem {
  return { values: new Map(), applied: [], batches: [] };
}

const mode = z.string().regex(/^0[0-7]{3}$/, 'expected a string like "0644"');

/** `mem: NAME` with `value:` — or `source:` (a template of the states dir, rendered). */
function memType(
  sys: FakeSystem,
): ResourceType<{ value?: string; source?: string; fail?: boolean; mode?: string }> {
  return {
    type: "mem",
    fields: z.strictObject({
      value: z.string().optional(),
      source: z.string().optional(),
      fail: z.boolean().optional(),
      mode: mode.optional(),
    }),
    validate(_name, props) {
      if ((props.value === undefined) === (props.source === undefined))
        return { field: "value", message: "set value or source" };
      return undefined;
    },
    async inspect(name, props, ctx) {
      const want =
        props.value ??
        (await ctx.render(ctx.source(props.source as string), props.source as string));
      const cur = sys.values.get(name);
      if (cur === want && props.fail !== true) return { changes: [], apply: async () => {} };
      ctx.log(`inspecting ${name}: ${want}`);
      return {
        changes: [cur === undefined ? `create ${want}` : `value ${cur} → ${want}`],
        diff: `-${cur ?? ""}\n+${want}\n`,
        apply: async () => {
          sys.applied.push(`mem:${name}`);
          if (props.fail === true) throw new ResourceFailed(`could not write ${want}`);
          sys.values.set(name, want);
        },
      };
    },
  };
}

/** `run: NAME`: always has something to do (an exec without guards). */
function runType(sys: FakeSystem): ResourceType<{ fail?: boolean; skip?: string }> {
  return {
    type: "run",
    fields: z.strictObject({ fail: z.boolean().optional(), skip: z.string().optional() }),
    async inspect(name, props) {
      if (props.skip !== undefined)
        return { changes: [], skipReason: props.skip, apply: async () => {} };
      return {
        changes: [`run ${name}`],
        apply: async () => {
          sys.applied.push(`run:${name}`);
          if (props.fail === true) throw new ResourceFailed(`${name} exited 1`);
        },
      };
    },
  };
}

/** `pkg: NAME`: inspects in bulk, like package. */
function pkgType(sys: FakeSystem): ResourceType<Record<string, never>> {
  const one = (name: string) => ({
    changes: sys.values.has(`pkg:${name}`) ? [] : [`install ${name}`],
    apply: async () => {
      sys.applied.push(`pkg:${name}`);
      sys.values.set(`pkg:${name}`, "installed");
    },
  });
  return {
    type: "pkg",
    fields: z.strictObject({}),
    async inspect(name) {
      return one(name);
    },
    async inspectBatch(items) {
      sys.batches.push(items.length);
      return items.map((i) => one(i.name));
    },
  };
}

/** The fake types, keyed as resources/index.ts keys the real ones. */
export function fakeTypes(sys: FakeSystem): ReadonlyMap<string, ResourceType<never>> {
  return new Map<string, ResourceType<never>>([
    ["mem", memType(sys) as ResourceType<never>],
    // `source:` of a `template` is compiled at load time, like the real type's.
    ["template", { ...memType(sys), type: "template" } as ResourceType<never>],
    ["run", runType(sys) as ResourceType<never>],
    ["pkg", pkgType(sys) as ResourceType<never>],
  ]);
}
