import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** One line of /etc/passwd. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  comment: string;
  home: string;
  shell: string;
}

/** One line of /etc/group. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Parse /etc/passwd (`name:x:uid:gid:gecos:home:shell`); NIS `+` lines and junk are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || f[0] === "" || f[0]!.startsWith("+") || f[0]!.startsWith("-")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid, comment: f[4]!, home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** Parse /etc/group (`name:x:gid:member,member`). */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || f[0] === "" || f[0]!.startsWith("+") || f[0]!.startsWith("-")) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    const members = f[3]!.split(",").filter((m) => m !== "");
    out.push({ name: f[0]!, gid, members });
  }
  return out;
}

/** The local account databases, read fresh (useradd and friends only touch these files). */
export interface Accounts {
  users: PasswdEntry[];
  groups: GroupEntry[];
}

/** Read /etc/passwd and /etc/group (under `root`, for tests). */
export async function readAccounts(root = "/etc"): Promise<Accounts> {
  const [passwd, group] = await Promise.all([
    readFile(`${root}/passwd`, "utf8"),
    readFile(`${root}/group`, "utf8"),
  ]);
  return { users: parsePasswd(passwd), groups: parseGroup(group) };
}

/** The supplementary groups of `user`: the groups that list it as a member, sorted. */
export function supplementaryGroups(accounts: Accounts, user: string): string[] {
  return accounts.groups
    .filter((g) => g.members.includes(user))
    .map((g) => g.name)
    .sort();
}

/** User and group names useradd accepts (Debian's default NAME_REGEX, plus `.`). */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]*\$?$/;

/** The passwd entry of a user by name or numeric uid, or undefined when there is none. */
export function lookupUser(user: string, path = "/etc/passwd"): PasswdEntry | undefined {
  const entries = parsePasswd(readFileSync(path, "utf8"));
  return /^\d+$/.test(user)
    ? entries.find((e) => e.uid === Number(user))
    : entries.find((e) => e.name === user);
}
