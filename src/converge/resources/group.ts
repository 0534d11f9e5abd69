import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceContext, ResourceType } from "../types.js";
import { ACCOUNT_NAME, readAccounts } from "./system/accounts.js";
import { run, runOk, type Runner } from "./system/run.js";

const fields = z.strictObject({
  state: z.enum(["present", "absent"]).default("present"),
  gid: z.number().int().min(0).max(4_294_967_294).optional(),
  /** A system group (a gid from the system range): used only when the group is created. */
  system: z.boolean().optional(),
});

export type GroupProps = z.infer<typeof fields>;

/** The group type with its commands run by `runner` (tests count them). */
export function createGroupType(runner: Runner = run): ResourceType<GroupProps> {
  return {
    type: "group",
    fields,
    validate(name, props) {
      if (!name.includes("{{") && !ACCOUNT_NAME.test(name))
        return { field: "group", message: `${JSON.stringify(name)} is not a valid group name` };
      if (props.state === "absent") {
        const extra = (["gid", "system"] as const).find((f) => props[f] !== undefined);
        if (extra !== undefined) return { field: extra, message: "only with state: present" };
      }
      return undefined;
    },
    async inspect(name, props, ctx) {
      if (!ACCOUNT_NAME.test(name))
        throw new ResourceFailed(`${JSON.stringify(name)} is not a valid group name`);
      const current = (await readAccounts()).groups.find((g) => g.name === name);
      const exec = (argv: string[]) => (): Promise<void> => execute(runner, argv, ctx);
      if (props.state === "absent")
        return current === undefined
          ? noChange()
          : { changes: ["remove"], apply: exec(["groupdel", name]) };
      if (current === undefined) {
        const argv = ["groupadd"];
        const what = ["create"];
        if (props.gid !== undefined) {
          argv.push("-g", String(props.gid));
          what.push(`gid ${props.gid}`);
        }
        if (props.system === true) {
          argv.push("-r");
          what.push("system");
        }
        return { changes: [what.join(" ")], apply: exec([...argv, name]) };
      }
      if (props.gid !== undefined && props.gid !== current.gid)
        return {
          changes: [`gid ${current.gid} → ${props.gid}`],
          apply: exec(["groupmod", "-g", String(props.gid), name]),
        };
      return noChange();
    },
  };
}

/** `group: NAME`: a local group, present with a gid, or absent. */
export const groupType = createGroupType();

function noChange(): Inspection {
  return { changes: [], apply: () => Promise.resolve() };
}

async function execute(runner: Runner, argv: string[], ctx: ResourceContext): Promise<void> {
  await runOk(runner, argv, { signal: ctx.signal, redact: ctx.redact, timeoutMs: 60_000 });
}
