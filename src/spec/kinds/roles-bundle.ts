/**
 * The states bundle agents converge to (`gantry states push`, src/api/routes/converge.ts) as two
 * kinds share it: the `converge.states` folder owns its state files, each `roles.<name>` owns
 * its entry of the bundle's top.yaml, which the stack writes. Each change is a read, a change
 * and a push of the whole bundle, one at a time in this process, so two items applied at once
 * never lose each other's change (the stack's apply lock keeps other appliers out).
 */
import { createHash } from "node:crypto";
import { ConvergeClient } from "../../client/converge.js";
import { GantryError } from "../../errors.js";
import type { StateError } from "../../converge/errors.js";
import type { KindContext } from "../kind.js";
import { convergeLoader } from "./converge-loader.js";

/** What a role is: the states it runs, in order, and vars for all of them. */
export interface RoleSpec {
  states: string[];
  vars: Record<string, unknown>;
}

export const TOP_FILES = ["top.yaml", "top.yml"];
/**
 * A file the stack adds to the bundle: the hash of the states folder it last pushed, so a later
 * plan can tell a changed folder (intended) from a hand `states push` (drift).
 */
export const MARKER = ".gantry-stack-states";
const HEADER =
  "# Written by the stack from gantry.yaml's roles: section (gantry apply replaces this file).\n";

/** The pushed bundle: its files and the store revision they were read at. */
export interface LiveBundle {
  files: Record<string, string>;
  modRevision: number;
}

export async function readBundle(ctx: KindContext): Promise<LiveBundle | undefined> {
  const b = await new ConvergeClient(ctx.client).bundle(ctx.signal);
  return b === undefined ? undefined : { files: b.files, modRevision: b.modRevision };
}

/**
 * The roles a bundle's top.yaml declares (none when it has no top.yaml or it does not parse).
 * Needs the converge loader loaded, as `topYaml` does.
 */
export function rolesOf(files: Readonly<Record<string, string>>): Map<string, RoleSpec> {
  const file = TOP_FILES.find((f) => files[f] !== undefined);
  const out = new Map<string, RoleSpec>();
  if (file === undefined) return out;
  const errors: StateError[] = [];
  const top = convergeLoader().loadTop(file, files[file]!, errors);
  for (const [name, r] of Object.entries(top?.roles ?? {}))
    out.set(name, { states: r.states, vars: r.vars });
  return out;
}

/** The top.yaml the stack writes for these roles (sorted, so equal roles give equal text). */
export function topYaml(roles: ReadonlyMap<string, RoleSpec>): string {
  const doc: Record<string, RoleSpec> = {};
  for (const name of [...roles.keys()].sort()) doc[name] = roles.get(name)!;
  return HEADER + (roles.size === 0 ? "{}\n" : convergeLoader().yamlStringify(doc));
}

/** The bundle's files without its top file and the stack's marker: what the folder owns. */
export function stateFiles(files: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, body] of Object.entries(files))
    if (!TOP_FILES.includes(path) && path !== MARKER) out[path] = body;
  return out;
}

/** sha256 of one file's content, as plans show which files changed. */
export const fileHash = (body: string): string =>
  createHash("sha256").update(body).digest("hex").slice(0, 12);

let chain: Promise<unknown> = Promise.resolve();

/**
 * Change the pushed bundle: `change` gets the live files (undefined when nothing was pushed)
 * and returns the files to push; an unchanged bundle is not pushed again (a push makes every
 * agent converge). Answers whether it pushed.
 */
export function changeBundle(
  ctx: KindContext,
  change: (files: Record<string, string> | undefined) => Record<string, string>,
): Promise<boolean> {
  const next = chain.then(async () => {
    const live = await readBundle(ctx);
    const files = change(live === undefined ? undefined : { ...live.files });
    if (Object.keys(files).length === 0)
      throw new GantryError("invalid_argument", "the states bundle would be empty", {
        status: 400,
      });
    if (live !== undefined && sameFiles(live.files, files)) return false;
    const res = await new ConvergeClient(ctx.client).pushStates(files);
    ctx.progress(`pushed the states (${res.files} files, hash ${res.hash.slice(0, 12)})`);
    return true;
  });
  chain = next.catch(() => undefined);
  return next;
}

function sameFiles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}
