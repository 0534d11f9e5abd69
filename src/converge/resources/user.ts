import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceContext, ResourceType } from "../types.js";
import { ACCOUNT_NAME, readAccounts, supplementaryGroups } from "./system/accounts.js";
import { run, runOk, type Runner } from "./system/run.js";

const groupName = z.string().regex(ACCOUNT_NAME, "is not a valid group name");
const absolute = z.string().regex(/^\/[^:\n]*$/, "must be an absolute path without ':'");

const fields = z.strictObject({
  state: z.enum(["present", "absent"]).default("present"),
  uid: z.number().int().min(0).max(4_294_967_294).optional(),
  /** The primary group, by name. Unset on creation: a group named like the user (Debian's way). */
  group: groupName.optional(),
  /** The exact set of supplementary groups: the user leaves groups not listed. */
  groups: z.array(groupName).optional(),
  home: absolute.optional(),
  shell: absolute.optional(),
  /** The GECOS field. */
  comment: z
    .string()
    .regex(/^[^:\n]*$/, "must not hold ':' or a newline")
    .optional(),
  /** A system account (uid from the system range, no aging): used only on creation. */
  system: z.boolean().optional(),
  /** Create the home directory (from /etc/skel) on creation. Default true. */
  createHome: z.boolean().optional(),
});

export type UserProps = z.infer<typeof fields>;

const PRESENT_ONLY = [
  "uid",
  "group",
  "groups",
  "home",
  "shell",
  "comment",
  "system",
  "createHome",
] as const;

/** The user type with its commands run by `runner` (tests count them). */
export function createUserType(runner: Runner = run): ResourceType<UserProps> {
  return {
    type: "user",
    fields,
    validate(name, props) {
      if (!name.includes("{{") && !ACCOUNT_NAME.test(name))
        return { field: "user", message: `${JSON.stringify(name)} is not a valid user name` };
      if (props.state === "absent") {
        const extra = PRESENT_ONLY.find((f) => props[f] !== undefined);
        if (extra !== undefined) return { field: extra, message: "only with state: present" };
      }
      return undefined;
    },
    async inspect(name, props, ctx) {
      if (!ACCOUNT_NAME.test(name))
        throw new ResourceFailed(`${JSON.stringify(name)} is not a valid user name`);
      const accounts = await readAccounts();
      const current = accounts.users.find((u) => u.name === name);
      const exec = (argv: string[]) => (): Promise<void> => execute(runner, argv, ctx);
      if (props.state === "absent")
        return current === undefined
          ? noChange()
          : { changes: ["remove"], apply: exec(["userdel", name]) };

      const wantGroups = props.groups === undefined ? undefined : [...new Set(props.groups)].sort();
      if (current === undefined) {
        const argv = ["useradd"];
        const what = ["create"];
        const opt = (flag: string, label: string, value: string | number | undefined): void => {
          if (value === undefined) return;
          argv.push(flag, String(value));
          what.push(`${label} ${value}`);
        };
        opt("-u", "uid", props.uid);
        opt("-g", "group", props.group);
        if (wantGroups !== undefined && wantGroups.length > 0)
          opt("-G", "groups", wantGroups.join(","));
        opt("-d", "home", props.home);
        opt("-s", "shell", props.shell);
        opt("-c", "comment", props.comment);
        if (props.system === true) {
          argv.push("-r");
          what.push("system");
        }
        argv.push(props.createHome === false ? "-M" : "-m");
        return { changes: [what.join(" ")], apply: exec([...argv, name]) };
      }

      const argv = ["usermod"];
      const changes: string[] = [];
      const differs = (flag: string, label: string, have: string, want: string | undefined) => {
        if (want === undefined || want === have) return;
        argv.push(flag, want);
        changes.push(`${label} ${have} → ${want}`);
      };
      differs("-u", "uid", String(current.uid), props.uid?.toString());
      const primary = accounts.groups.find((g) => g.gid === current.gid)?.name;
      differs("-g", "group", primary ?? String(current.gid), props.group);
      differs("-d", "home", current.home, props.home);
      differs("-s", "shell", current.shell, props.shell);
      if (props.comment !== undefined && props.comment !== current.comment) {
        argv.push("-c", props.comment);
        changes.push(
          `comment ${JSON.stringify(current.comment)} → ${JSON.stringify(props.comment)}`,
        );
      }
      if (wantGroups !== undefined) {
        const have = supplementaryGroups(accounts, name);
        const added = wantGroups.filter((g) => !have.includes(g));
        const removed = have.filter((g) => !wantGroups.includes(g));
        if (added.length + removed.length > 0) {
          argv.push("-G", wantGroups.join(","));
          changes.push(
            `groups ${[...added.map((g) => `+${g}`), ...removed.map((g) => `-${g}`)].join(" ")}`,
          );
        }
      }
      return changes.length === 0 ? noChange() : { changes, apply: exec([...argv, name]) };
    },
  };
}

/** `user: NAME`: a local user account, present with these attributes, or absent. */
export const userType = createUserType();

function noChange(): Inspection {
  return { changes: [], apply: () => Promise.resolve() };
}

async function execute(runner: Runner, argv: string[], ctx: ResourceContext): Promise<void> {
  await runOk(runner, argv, { signal: ctx.signal, redact: ctx.redact, timeoutMs: 120_000 });
}
