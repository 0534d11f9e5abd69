import { readFileSync } from "node:fs";

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Parse /etc/passwd text (`name:x:uid:gid:gecos:home:shell`), skipping malformed lines. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || f[0] === "" || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5]!, shell: f[6]! });
  }
  return out;
}

/** The passwd entry of a user by name or numeric uid, or undefined when there is none. */
export function lookupUser(user: string, path = "/etc/passwd"): PasswdEntry | undefined {
  const entries = parsePasswd(readFileSync(path, "utf8"));
  return /^\d+$/.test(user)
    ? entries.find((e) => e.uid === Number(user))
    : entries.find((e) => e.name === user);
}
