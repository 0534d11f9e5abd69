import { readFileSync, statSync } from "node:fs";

/** Where account names live; tests point these at fixture files. */
export interface IdFiles {
  passwd: string;
  group: string;
}

export const systemIdFiles: IdFiles = { passwd: "/etc/passwd", group: "/etc/group" };

interface Table {
  byName: Map<string, number>;
  byId: Map<number, string>;
}

// Parsed tables, reused while the file's inode, size and mtime stay the same: a run reads them
// for every file resource, and a `user` resource earlier in the run may add an entry.
const cache = new Map<string, { stamp: string; table: Table }>();

function table(path: string): Table {
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return { byName: new Map(), byId: new Map() };
  }
  const hit = cache.get(path);
  if (hit !== undefined && hit.stamp === stamp) return hit.table;
  const parsed = parseIdTable(readFileSync(path, "utf8"));
  cache.set(path, { stamp, table: parsed });
  return parsed;
}

/** `name:x:id:…` lines (passwd and group share the first three fields) → both directions. */
export function parseIdTable(text: string): Table {
  const byName = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [name, , id] = line.split(":");
    if (name === undefined || id === undefined || !/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!byName.has(name)) byName.set(name, n);
    if (!byId.has(n)) byId.set(n, name);
  }
  return { byName, byId };
}

function resolve(path: string, who: string | number): number | undefined {
  if (typeof who === "number") return who;
  if (/^\d+$/.test(who)) return Number(who);
  return table(path).byName.get(who);
}

/** A user name or numeric id → uid; undefined when the name does not exist. */
export function resolveUser(
  who: string | number,
  files: IdFiles = systemIdFiles,
): number | undefined {
  return resolve(files.passwd, who);
}

/** A group name or numeric id → gid; undefined when the name does not exist. */
export function resolveGroup(
  who: string | number,
  files: IdFiles = systemIdFiles,
): number | undefined {
  return resolve(files.group, who);
}

/** A uid as people read it: the user name, or the number when there is none. */
export function userName(uid: number, files: IdFiles = systemIdFiles): string {
  return table(files.passwd).byId.get(uid) ?? String(uid);
}

/** A gid as people read it: the group name, or the number when there is none. */
export function groupName(gid: number, files: IdFiles = systemIdFiles): string {
  return table(files.group).byId.get(gid) ?? String(gid);
}
