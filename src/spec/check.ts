import { didYouMean } from "../text/suggest.js";
import type { ItemRef, SpecItem } from "./kind.js";
import type { KindRegistry } from "./registry.js";

/** A problem with one item found after its schema passed: a missing reference, a kind's check. */
export interface ItemProblem {
  kind: string;
  name: string;
  path: (string | number)[];
  message: string;
}

export const itemKey = (kind: string, name: string): string => `${kind}/${name}`;

/**
 * What the files alone can tell before anything changes: every reference names an item of the
 * stack, references form no cycle, and each kind's own checks (a missing `source` folder, two
 * apps with one domain). `declared` holds the items that failed their schema, so they are not
 * reported a second time as missing.
 */
export function checkStack(
  items: readonly SpecItem[],
  declared: ReadonlySet<string>,
  registry: KindRegistry,
  dir: string,
): ItemProblem[] {
  const problems: ItemProblem[] = [];
  const have = new Map(items.map((i) => [itemKey(i.kind, i.name), i]));
  const refs = new Map<string, ItemRef[]>();
  for (const item of items) {
    const kind = registry.get(item.kind);
    const mine = kind?.refs?.(item) ?? [];
    refs.set(itemKey(item.kind, item.name), mine);
    for (const r of mine) {
      const key = itemKey(r.kind, r.name);
      if (have.has(key) || declared.has(key)) continue;
      const names = items.filter((i) => i.kind === r.kind).map((i) => i.name);
      problems.push({
        kind: item.kind,
        name: item.name,
        path: [],
        message: `needs ${r.kind} "${r.name}", which the stack does not define${didYouMean(r.name, names)}`,
      });
    }
  }
  const cycle = findCycle(refs);
  if (cycle !== undefined) {
    const [kind, ...rest] = cycle[0]!.split("/");
    problems.push({
      kind: kind!,
      name: rest.join("/"),
      path: [],
      message: `depends on itself: ${cycle.join(" → ")}`,
    });
  }
  for (const kind of registry.all()) {
    if (kind.check === undefined) continue;
    const mine = items.filter((i) => i.kind === kind.name);
    for (const [name, list] of kind.check(mine, items as SpecItem[], { dir }))
      for (const p of list)
        problems.push({ kind: kind.name, name, path: splitPath(p.path), message: p.message });
  }
  return problems;
}

/** `checks[0].interval` → ["checks", 0, "interval"]. */
export function splitPath(path: string): (string | number)[] {
  if (path === "") return [];
  const out: (string | number)[] = [];
  for (const part of path.split(".")) {
    const m = /^([^[]*)((\[\d+\])*)$/.exec(part);
    if (m === null) {
      out.push(part);
      continue;
    }
    if (m[1] !== "") out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** One cycle in the reference graph (keys, first repeated last), or undefined. */
function findCycle(refs: ReadonlyMap<string, ItemRef[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (key: string): string[] | undefined => {
    const s = state.get(key);
    if (s === "done") return undefined;
    if (s === "open") return [...stack.slice(stack.indexOf(key)), key];
    state.set(key, "open");
    stack.push(key);
    for (const r of refs.get(key) ?? []) {
      const next = itemKey(r.kind, r.name);
      if (!refs.has(next)) continue;
      const found = visit(next);
      if (found !== undefined) return found;
    }
    stack.pop();
    state.set(key, "done");
    return undefined;
  };
  for (const key of refs.keys()) {
    const found = visit(key);
    if (found !== undefined) return found;
  }
  return undefined;
}
