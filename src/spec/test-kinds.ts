/**
 * Small kinds for the engine's unit tests: a `thing` with a few fields (one of which forces a
 * replacement) that may refer to `base` items. They read and write nothing.
 */
import * as z from "zod";
import { diffValues, createFields } from "./diff.js";
import type { Kind, LiveItem } from "./kind.js";
import { KindRegistry } from "./registry.js";

const ThingSchema = z.strictObject({
  size: z.number().int().min(0).default(1),
  zone: z.string().default("a"),
  secret: z.string().optional(),
  uses: z.array(z.string()).default([]),
});
export type Thing = z.infer<typeof ThingSchema>;

const noop = async (): Promise<void> => undefined;

/** `things:` — refers to `bases:` (and, as `thing:NAME`, to things) through `uses`; a new zone replaces it; `secret` is sensitive. */
export const thingKind: Kind<Thing, Thing> = {
  name: "thing",
  section: "things",
  prefixSection: "thingPrefixes",
  rank: 20,
  schema: ThingSchema,
  refs: (item) =>
    item.spec.uses.map((u) =>
      u.startsWith("thing:") ? { kind: "thing", name: u.slice(6) } : { kind: "base", name: u },
    ),
  check(items) {
    const problems = new Map();
    for (const i of items)
      if (i.spec.size > 100) problems.set(i.name, [{ path: "size", message: "at most 100" }]);
    return problems;
  },
  read: async () => new Map(),
  diff(item, live) {
    if (live === undefined) return createFields(item.spec);
    return diffValues(live.value, item.spec).map((f) =>
      f.path === "zone"
        ? { ...f, forcesReplace: true }
        : f.path === "secret"
          ? { ...f, sensitive: true }
          : f,
    );
  },
  create: noop,
  update: noop,
  destroy: noop,
};

/** `bases:` — a plain map of strings, ranked before things. */
export const baseKind: Kind<Record<string, string>, Record<string, string>> = {
  name: "base",
  section: "bases",
  rank: 10,
  schema: z.record(z.string(), z.string()),
  read: async () => new Map(),
  diff: (item, live) => diffValues(live?.value, item.spec),
  create: noop,
  update: noop,
  destroy: noop,
};

export const testRegistry = (): KindRegistry => new KindRegistry([baseKind, thingKind] as Kind[]);

/** A live item with one revision. */
export function liveItem<T>(name: string, value: T, revision = 5): LiveItem<T> {
  return { name, value, revisions: { [`x/${name}`]: revision } };
}
