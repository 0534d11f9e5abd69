/**
 * The run's graph: require/onChanges/notify references resolved to steps (by id, or by a name
 * that is unique), and the steps ordered — file order, moved only as far as the edges need;
 * a cycle is an error that names it.
 */
import { StateError } from "./errors.js";
import { didYouMean } from "../text/suggest.js";
import type { Plan, Step } from "./types.js";

/** require/onChanges name resources, notify names handlers: by id, or by a name that is unique. */
export function resolveRefs(
  steps: Step[],
  handlers: Map<string, Step>,
  skipped: Plan["skipped"],
  errors: StateError[],
): void {
  const byId = new Map<string, Step>();
  for (const s of [...steps, ...handlers.values()]) {
    const other = byId.get(s.id);
    if (other !== undefined)
      errors.push(
        new StateError(
          s.source,
          `duplicate id "${s.id}" (also at ${other.source.file}:${other.source.line}); ` +
            "give one an `id:`, or use {{ item }} in the id of a forEach",
        ),
      );
    else byId.set(s.id, s);
  }
  const skippedIds = new Set(skipped.map((s) => s.id));
  const byName = (list: Iterable<Step>, ref: string): Step[] =>
    [...list].filter((s) => s.name === ref);

  for (const step of [...steps, ...handlers.values()]) {
    for (const field of ["require", "onChanges"] as const) {
      step[field] = step[field].map((ref, i) => {
        const where = `${field}[${i}]`;
        const found = byId.get(ref);
        if (found?.handler === true) {
          errors.push(new StateError(step.source, `"${ref}" is a handler: use notify`, where));
          return ref;
        }
        if (found !== undefined || skippedIds.has(ref)) return ref;
        const named = byName(steps, ref);
        if (named.length === 1) return named[0]!.id;
        errors.push(
          new StateError(
            step.source,
            named.length > 1
              ? `"${ref}" names ${named.length} resources (${named.map((s) => s.id).join(", ")}): use an id`
              : `no resource "${ref}" in the states of this run` +
                (didYouMean(
                  ref,
                  steps.flatMap((s) => [s.id, s.name]),
                ) || " (ids look like directory:/srv/app)"),
            where,
          ),
        );
        return ref;
      });
    }
    step.notify = step.notify.map((ref, i) => {
      const where = `notify[${i}]`;
      const found = handlers.get(ref) ?? single(byName(handlers.values(), ref));
      if (found !== undefined) return found.id;
      if (skippedIds.has(ref)) return ref;
      const resource = byId.get(ref) ?? single(byName(steps, ref));
      errors.push(
        new StateError(
          step.source,
          resource !== undefined
            ? `"${ref}" is a resource, not a handler (to run it after a change: onChanges on it)`
            : `no handler "${ref}"` +
              (didYouMean(
                ref,
                [...handlers.values()].flatMap((h) => [h.id, h.name]),
              ) || ` — handlers are listed under "handlers:" in a state`),
          where,
        ),
      );
      return ref;
    });
  }
}

function single(list: Step[]): Step | undefined {
  return list.length === 1 ? list[0] : undefined;
}

/**
 * File order, then require/onChanges: a stable topological sort (of the steps that are ready,
 * the earliest in the files runs first). A cycle is an error that names it.
 */
export function order(steps: Step[], errors: StateError[]): Step[] {
  const index = new Map(steps.map((s, i) => [s.id, i]));
  const deps = steps.map((s) =>
    [...new Set([...s.require, ...s.onChanges])]
      .map((r) => index.get(r))
      .filter((i): i is number => i !== undefined),
  );
  const waiting = deps.map((d) => d.length);
  const dependents: number[][] = steps.map(() => []);
  deps.forEach((d, i) => d.forEach((j) => dependents[j]!.push(i)));
  const ready: number[] = [];
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const out: Step[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    out.push(steps[i]!);
    for (const j of dependents[i]!) if (--waiting[j]! === 0) ready.push(j);
  }
  if (out.length < steps.length) {
    const cycle = findCycle(deps, waiting);
    const first = steps[cycle[0]!]!;
    errors.push(
      new StateError(
        first.source,
        `require cycle: ${[...cycle, cycle[0]!].map((i) => steps[i]!.id).join(" → ")}`,
      ),
    );
  }
  return out;
}

function findCycle(deps: number[][], waiting: number[]): number[] {
  const start = waiting.findIndex((w) => w > 0);
  const path: number[] = [];
  const seen = new Map<number, number>();
  let at = start;
  while (!seen.has(at)) {
    seen.set(at, path.length);
    path.push(at);
    at = deps[at]!.find((d) => waiting[d]! > 0)!;
  }
  // `path` walks requirements; show the cycle in run order (requirement first).
  return path.slice(seen.get(at)).reverse();
}
