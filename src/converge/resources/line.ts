import type { Stats } from "node:fs";
import { realpath } from "node:fs/promises";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceType } from "../types.js";
import { writeAtomic } from "./fs/atomic.js";
import { contentDiff, readExisting } from "./fs/content.js";
import { applyFailed, fsFailed } from "./fs/errors.js";
import { absolutePath, kindOf, lstatIfAny, requireAbsolute, requireParentDir } from "./fs/stat.js";

const fields = z.strictObject({
  /**
   * The whole line wanted (present) or unwanted (absent), without its newline. (Not `line`:
   * that key already names the type and the file, as in `line: /etc/ssh/sshd_config`.)
   */
  text: z.string().optional(),
  /** A regular expression: present replaces the last matching line; absent removes all matches. */
  match: z.string().min(1).optional(),
  state: z.enum(["present", "absent"]).optional(),
  /** Create the file when it does not exist (default false: a missing file fails). */
  create: z.boolean().optional(),
});

export type LineProps = z.infer<typeof fields>;

export interface LineEdit {
  line?: string | undefined;
  match?: RegExp | undefined;
  state: "present" | "absent";
}

/**
 * The pure edit, as Ansible's lineinfile does it: present replaces the last line matching
 * `match` (or, with no match, appends unless the line is already there); absent drops every
 * line equal to `line`, or matching `match`. Returns the new text and what changed.
 */
export function editLines(text: string, edit: LineEdit): { text: string; change?: string } {
  const lines = text === "" ? [] : text.split("\n");
  const hadEol = lines.length > 0 && lines[lines.length - 1] === "";
  if (hadEol) lines.pop();
  let change: string | undefined;
  let eol = hadEol;
  if (edit.state === "present") {
    const line = edit.line as string;
    const at = edit.match === undefined ? -1 : lines.findLastIndex((l) => edit.match?.test(l));
    if (at >= 0 && lines[at] !== line) {
      lines[at] = line;
      change = `replace line ${at + 1}`;
    } else if (at < 0 && !lines.includes(line)) {
      lines.push(line);
      eol = true;
      change = "append line";
    }
  } else {
    const unwanted = (l: string): boolean => (edit.match ? edit.match.test(l) : l === edit.line);
    const kept = lines.filter((l) => !unwanted(l));
    const removed = lines.length - kept.length;
    if (removed > 0) {
      lines.splice(0, lines.length, ...kept);
      change = removed === 1 ? "remove 1 line" : `remove ${removed} lines`;
    }
  }
  if (change === undefined) return { text };
  return { text: lines.join("\n") + (eol && lines.length > 0 ? "\n" : ""), change };
}

function compile(match: string): RegExp | string {
  try {
    return new RegExp(match);
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * `line: /etc/ssh/sshd_config` with `text: PermitRootLogin no`: one line present (replacing the
 * last line matching `match`) or absent in a file.
 */
export const lineType: ResourceType<LineProps> = {
  type: "line",
  fields,
  validate(name, props) {
    const notAbsolute = absolutePath("line", name);
    if (notAbsolute !== undefined) return notAbsolute;
    const state = props.state ?? "present";
    if (state === "present" && props.text === undefined)
      return { field: "text", message: "the line to ensure is required" };
    if (state === "absent" && props.text === undefined && props.match === undefined)
      return { field: "text", message: "set text or match: what to remove" };
    if (props.text?.includes("\n"))
      return { field: "text", message: "must be one line, without \\n" };
    if (props.match !== undefined) {
      const re = compile(props.match);
      if (typeof re === "string") return { field: "match", message: re };
    }
    return undefined;
  },
  async inspect(name, props, ctx): Promise<Inspection> {
    requireAbsolute(name);
    const state = props.state ?? "present";
    let match: RegExp | undefined;
    if (props.match !== undefined) {
      const re = compile(props.match);
      if (typeof re === "string") throw new ResourceFailed(`${name}: match: ${re}`);
      match = re;
    }
    // Edit the file a link points at (/etc/resolv.conf), not the link.
    let path = name;
    let st: Stats | undefined = await lstatIfAny(name);
    if (st?.isSymbolicLink()) {
      try {
        path = await realpath(name);
      } catch (err) {
        throw fsFailed("follow the symlink", name, err);
      }
      st = await lstatIfAny(path);
    }
    if (st !== undefined && !st.isFile())
      throw new ResourceFailed(`cannot edit ${path}: it is a ${kindOf(st)}, not a file`);

    if (st === undefined && state === "absent")
      return { changes: [], apply: async () => undefined };
    if (st === undefined && props.create !== true) {
      // In check mode an earlier resource would have created it: report, don't fail.
      if (!ctx.check)
        throw new ResourceFailed(
          `cannot edit ${path}: it does not exist (set create: true to create it)`,
        );
      return {
        changes: [`append line (${path} does not exist yet)`],
        apply: async () => undefined,
      };
    }
    if (st === undefined) await requireParentDir(path, ctx.check);

    const before = st === undefined ? undefined : await readExisting(path);
    const edited = editLines(before?.toString("utf8") ?? "", { line: props.text, match, state });
    if (edited.change === undefined) return { changes: [], apply: async () => undefined };
    const after = Buffer.from(edited.text, "utf8");
    const attrs =
      st === undefined
        ? { mode: 0o644, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }
        : { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    return {
      changes: st === undefined ? ["create", edited.change] : [edited.change],
      diff: contentDiff(path, before, after, ctx),
      async apply() {
        try {
          await writeAtomic(path, after, attrs);
        } catch (err) {
          throw applyFailed("write", path, err);
        }
      },
    };
  },
};
