import { existsSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import * as z from "zod";
import { StateError } from "../../converge/errors.js";
import { StateErrors } from "../../converge/error-list.js";
import { readStatesDir } from "../../converge/files.js";
import { isGantryError } from "../../errors.js";
import type { FieldChange, Kind, SpecItem, SpecProblem } from "../kind.js";
import { statesHash } from "../../model/converge.js";
import {
  changeBundle,
  fileHash,
  MARKER,
  readBundle,
  stateFiles,
  TOP_FILES,
} from "./roles-bundle.js";
import { convergeLoader, loadConverge } from "./converge-loader.js";

/** The one item of the `converge:` section: `states: ./states`. */
export const STATES_ITEM = "states";

/** What the pushed bundle holds of the folder: each state file's content hash. */
export interface LiveStates {
  files: Record<string, string>;
  /** The folder hash the stack last pushed (absent: the bundle was pushed by hand). */
  pushedFrom?: string;
}

/** The folder's files as the bundle would carry them (top.yaml is the roles' own). */
export function folderFiles(dir: string, folder: string): Record<string, string> {
  return stateFiles(readStatesDir(resolve(dir, folder)));
}

/**
 * `converge: {states: ./states}` — the states folder agents converge to (what `gantry states
 * push` does). The stack writes the bundle's top.yaml from `roles:`, so the folder has none.
 * Its diff names the state files that differ from the pushed ones; destroying it changes
 * nothing (the agents keep the last states).
 */
export const convergeKind: Kind<string, LiveStates> = {
  name: "converge",
  section: "converge",
  topLevel: ["states"],
  rank: 22,
  schema: z.string().min(1).max(1024),

  async preload() {
    await loadConverge();
  },

  check(items, _all, ctx) {
    const problems = new Map<string, SpecProblem[]>();
    for (const item of items) {
      const why =
        item.name !== STATES_ITEM
          ? `unknown setting: converge has one, "states" (the states folder)`
          : statesProblem(ctx.dir, item.spec);
      if (why !== undefined) problems.set(item.name, [{ path: "", message: why }]);
    }
    return problems;
  },

  async read(ctx, names) {
    const out = new Map();
    if (!names.includes(STATES_ITEM)) return out;
    const bundle = await readBundle(ctx);
    if (bundle === undefined) return out;
    const files: Record<string, string> = {};
    for (const [path, body] of Object.entries(stateFiles(bundle.files)))
      files[path] = fileHash(body);
    const marker = bundle.files[MARKER]?.trim();
    out.set(STATES_ITEM, {
      name: STATES_ITEM,
      value: { files, ...(marker === undefined ? {} : { pushedFrom: marker }) },
      revisions: { "converge/states": bundle.modRevision },
    });
    return out;
  },

  diff(item, live, ctx) {
    const folder = folderFiles(ctx.dir, item.spec);
    const fields = diffStates(live?.value.files ?? {}, folder);
    // The folder changed since the stack pushed it: intended. Otherwise a hand push: drift.
    const from = live?.value.pushedFrom;
    if (from === undefined || from === statesHash(folder)) return fields;
    return fields.map((f) => ({ ...f, fromFiles: true }));
  },

  async create(ctx, item) {
    await push(ctx, item);
  },
  async update(ctx, item) {
    await push(ctx, item);
  },
  async destroy(ctx) {
    ctx.progress("the pushed states stay: agents keep converging to them");
  },
};

/** Which state files differ: added (new hash), changed (old → new), removed (old hash). */
export function diffStates(
  live: Readonly<Record<string, string>>,
  folder: Readonly<Record<string, string>>,
): FieldChange[] {
  const out: FieldChange[] = [];
  for (const path of [...new Set([...Object.keys(live), ...Object.keys(folder)])].sort()) {
    const cur = live[path];
    const next = folder[path] === undefined ? undefined : fileHash(folder[path]);
    if (cur === next) continue;
    out.push({
      path: `files.${path}`,
      ...(cur === undefined ? {} : { old: cur }),
      ...(next === undefined ? {} : { new: next }),
    });
  }
  return out;
}

/** Push the folder's files with the bundle's current top.yaml (the roles write that). */
async function push(ctx: Parameters<Kind["create"]>[0], item: SpecItem<string>): Promise<void> {
  const files = { ...folderFiles(ctx.dir, item.spec) };
  const marked = { ...files, [MARKER]: statesHash(files) + "\n" };
  await changeBundle(ctx, (live) => {
    const top = TOP_FILES.find((f) => live?.[f] !== undefined);
    return top === undefined ? marked : { ...marked, [top]: live![top]! };
  });
}

/**
 * Why the states folder cannot be pushed: missing, outside the stack, with its own top.yaml,
 * or states the converge loader refuses (its `file:line` messages, under the folder's path).
 */
export function statesProblem(dir: string, folder: string): string | undefined {
  const abs = resolve(dir, folder);
  const rel = relative(dir, abs);
  if (isAbsolute(folder) || rel === ".." || rel.startsWith("../"))
    return `"${folder}" is outside the stack folder: give a folder inside it, like ./states`;
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    return `the states folder "${folder}" does not exist in the stack`;
  let files: Record<string, string>;
  try {
    files = readStatesDir(abs);
  } catch (err) {
    return isGantryError(err) ? err.message : String(err);
  }
  const top = TOP_FILES.find((f) => files[f] !== undefined);
  if (top !== undefined)
    return `${rel}/${top}: the stack writes top.yaml from gantry.yaml's roles: section; move its roles there and remove the file`;
  if (Object.keys(files).length === 0) return `the states folder "${folder}" is empty`;
  try {
    convergeLoader().loadStates(files, { dir: abs });
  } catch (err) {
    if (err instanceof StateErrors || err instanceof StateError)
      return under(rel, err instanceof StateErrors ? err.errors : [err]);
    throw err;
  }
  return undefined;
}

/** State errors with their file paths made relative to the stack folder. */
export function under(folder: string, errors: readonly StateError[]): string {
  return errors
    .map((e) => (e.source === undefined ? e.message : `${folder}/${e.message}`))
    .join("\n");
}
