import type { Stats } from "node:fs";
import { chmod, chown } from "node:fs/promises";
import { ResourceFailed } from "../../errors.js";
import type { ResourceContext } from "../../types.js";
import { fsFailed } from "./errors.js";
import { groupName, resolveGroup, resolveUser, userName } from "./ids.js";
import { formatMode, modeField, parseMode } from "./mode.js";
import * as z from "zod";

/** A user or group: a name, or a numeric id (`0`, `"33"`). */
const whoField = z.union([z.string().min(1), z.number().int().nonnegative()]);

/** Schema shape of the mode, owner and group fields, to spread into a type's strict object. */
export const attrShape = {
  mode: modeField.optional(),
  owner: whoField.optional(),
  group: whoField.optional(),
};

/** The mode, owner and group fields shared by file, template and directory. */
export interface AttrFields {
  mode?: string | undefined;
  owner?: string | number | undefined;
  group?: string | number | undefined;
}

/** A wanted owner or group: as written, and its id (undefined: no such name yet, check mode). */
interface Who {
  spec: string | number;
  id: number | undefined;
}

/** The attributes a resource asks for, resolved; absent ones are left as they are. */
export interface Wanted {
  mode?: number;
  owner?: Who;
  group?: Who;
}

/**
 * Parses and resolves mode, owner and group. A user or group that does not exist fails, except in
 * check mode: an earlier `user` resource would create it, so check mode reports the change.
 */
export function resolveWanted(path: string, f: AttrFields, ctx: ResourceContext): Wanted {
  const w: Wanted = {};
  if (f.mode !== undefined) {
    const mode = parseMode(f.mode);
    if (mode === undefined)
      throw new ResourceFailed(`${path}: mode "${f.mode}" is not an octal mode`);
    w.mode = mode;
  }
  if (f.owner !== undefined) {
    const id = resolveUser(f.owner);
    if (id === undefined && !ctx.check)
      throw new ResourceFailed(`${path}: owner: user "${f.owner}" does not exist`);
    w.owner = { spec: f.owner, id };
  }
  if (f.group !== undefined) {
    const id = resolveGroup(f.group);
    if (id === undefined && !ctx.check)
      throw new ResourceFailed(`${path}: group: group "${f.group}" does not exist`);
    w.group = { spec: f.group, id };
  }
  return w;
}

const shown = (who: Who, name: (id: number) => string): string =>
  typeof who.spec === "string" && !/^\d+$/.test(who.spec) ? who.spec : name(Number(who.spec));

/** The differences between what is there and what is wanted: `mode 0600 → 0644`, `owner a → b`. */
export function attrChanges(st: Stats, w: Wanted): string[] {
  const changes: string[] = [];
  if (w.mode !== undefined && (st.mode & 0o7777) !== w.mode)
    changes.push(`mode ${formatMode(st.mode)} → ${formatMode(w.mode)}`);
  if (w.owner !== undefined && w.owner.id !== st.uid)
    changes.push(`owner ${userName(st.uid)} → ${shown(w.owner, userName)}`);
  if (w.group !== undefined && w.group.id !== st.gid)
    changes.push(`group ${groupName(st.gid)} → ${shown(w.group, groupName)}`);
  return changes;
}

function idOf(who: Who, path: string, kind: "user" | "group"): number {
  const id = who.id ?? (kind === "user" ? resolveUser(who.spec) : resolveGroup(who.spec));
  if (id === undefined) throw new ResourceFailed(`${path}: ${kind} "${who.spec}" does not exist`);
  return id;
}

/** Mode, uid and gid for a file written now: wanted, else what `st` had, else the defaults. */
export function finalAttrs(
  path: string,
  w: Wanted,
  st: Stats | undefined,
  defaultMode: number,
): { mode: number; uid: number; gid: number } {
  return {
    mode: w.mode ?? (st === undefined ? defaultMode : st.mode & 0o7777),
    uid: w.owner === undefined ? (st?.uid ?? process.getuid?.() ?? 0) : idOf(w.owner, path, "user"),
    gid:
      w.group === undefined ? (st?.gid ?? process.getgid?.() ?? 0) : idOf(w.group, path, "group"),
  };
}

/** Sets owner, group and mode in place (owner first: chown clears setuid and setgid bits). */
export async function fixAttrs(path: string, w: Wanted, st: Stats): Promise<void> {
  const want = finalAttrs(path, w, st, st.mode & 0o7777);
  try {
    const chowned = want.uid !== st.uid || want.gid !== st.gid;
    if (chowned) await chown(path, want.uid, want.gid);
    // After a chown, chmod even an unchanged mode: the kernel dropped setuid/setgid.
    if (chowned || (w.mode !== undefined && (st.mode & 0o7777) !== w.mode))
      await chmod(path, want.mode);
  } catch (err) {
    throw fsFailed("change owner or mode of", path, err);
  }
}
