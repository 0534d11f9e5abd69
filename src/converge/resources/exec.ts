import { existsSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import * as z from "zod";
import { durationMs, durationSchema } from "../../model/duration.js";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceContext, ResourceType } from "../types.js";
import { lookupUser } from "./system/accounts.js";
import { failure, formatArgv, runProcess, type RunOptions } from "./exec/process.js";

const DEFAULT_TIMEOUT_MS = 300_000;

const argv = z.array(z.string()).min(1, "needs at least the program");
/** A guard command: an argv array, or `{ shell: "…" }` for the explicit /bin/sh opt-in. */
const guard = z.union([argv, z.strictObject({ shell: z.string().min(1) })]);
const envValue = z.union([z.string(), z.number(), z.boolean()]);

const fields = z.strictObject({
  command: argv.optional(),
  shell: z.string().min(1).optional(),
  creates: z.string().min(1).optional(),
  unless: guard.optional(),
  onlyIf: guard.optional(),
  env: z.record(z.string(), envValue).optional(),
  cwd: z.string().min(1).optional(),
  timeout: durationSchema(1, 86_400_000).optional(),
  user: z.string().min(1).optional(),
});

export type ExecProps = z.infer<typeof fields>;
type Guard = z.infer<typeof guard>;

function guardArgv(g: Guard): string[] {
  return Array.isArray(g) ? g : ["/bin/sh", "-c", g.shell];
}

/** The argv an exec runs: its `command`, or `/bin/sh -c <shell>`. */
export function execArgv(p: ExecProps): string[] {
  return p.command ?? ["/bin/sh", "-c", p.shell ?? ""];
}

/**
 * The process options shared by the command and its guards: env, cwd, user, timeout. Undefined
 * with a reason when the run cannot happen yet (a cwd or a user that an earlier resource will
 * create: fine in check mode, an error otherwise).
 */
function processOptions(
  p: ExecProps,
  ctx: ResourceContext,
): { opts: RunOptions; missing?: undefined } | { missing: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  let ids: { uid: number; gid: number } | undefined;
  if (p.user !== undefined) {
    const u = lookupUser(p.user);
    if (u === undefined) return { missing: `user ${p.user} does not exist` };
    ids = { uid: u.uid, gid: u.gid };
    Object.assign(env, { HOME: u.home, USER: u.name, LOGNAME: u.name });
  }
  for (const [k, v] of Object.entries(p.env ?? {})) env[k] = String(v);
  if (p.cwd !== undefined && !isDir(p.cwd)) return { missing: `cwd ${p.cwd} does not exist` };
  return {
    opts: {
      env,
      timeoutMs: p.timeout === undefined ? DEFAULT_TIMEOUT_MS : durationMs(p.timeout),
      signal: ctx.signal,
      ...(p.cwd === undefined ? {} : { cwd: p.cwd }),
      ...(ids ?? {}),
    },
  };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Run a guard: true when it exited 0. A guard that cannot run or times out fails the resource. */
async function guardPasses(
  field: "unless" | "onlyIf",
  g: Guard,
  opts: RunOptions,
  ctx: ResourceContext,
): Promise<boolean> {
  const r = await runProcess(guardArgv(g), { ...opts, onLine: undefined });
  if (r.spawnError !== undefined || r.killed !== undefined)
    throw new ResourceFailed(ctx.redact(`${field}: ${formatArgv(guardArgv(g))}: ${failure(r)}`));
  return r.code === 0;
}

/** Why there is nothing to do, or undefined when the command should run. */
async function guarded(
  p: ExecProps,
  opts: RunOptions,
  ctx: ResourceContext,
): Promise<string | undefined> {
  if (p.creates !== undefined && existsSync(p.creates)) return `${p.creates} exists`;
  if (p.onlyIf !== undefined && !(await guardPasses("onlyIf", p.onlyIf, opts, ctx)))
    return "onlyIf failed";
  if (p.unless !== undefined && (await guardPasses("unless", p.unless, opts, ctx)))
    return "unless succeeded";
  return undefined;
}

async function run(argvToRun: string[], opts: RunOptions, ctx: ResourceContext): Promise<void> {
  const r = await runProcess(argvToRun, { ...opts, onLine: (l) => ctx.log(ctx.redact(l)) });
  const why = failure(r);
  if (why === undefined) return;
  const out = r.tail.length === 0 ? "" : `\n${r.tail.join("\n")}`;
  throw new ResourceFailed(ctx.redact(`${formatArgv(argvToRun)}: ${why}${out}`));
}

/**
 * `exec: NAME` — run a command (argv; `shell:` is the explicit opt-in to /bin/sh -c), guarded by
 * `creates`, `onlyIf` and `unless`. Guards run in check mode too, so they must be read-only
 * (as in Puppet). An exec without guards always runs, like Ansible's `command`.
 */
export const execType: ResourceType<ExecProps> = {
  type: "exec",
  fields,
  validate(_name, p) {
    if ((p.command === undefined) === (p.shell === undefined))
      return { field: "command", message: "set exactly one of command (an argv list) or shell" };
    if (p.creates !== undefined && !isAbsolute(p.creates))
      return { field: "creates", message: `must be an absolute path, got "${p.creates}"` };
    if (p.cwd !== undefined && !isAbsolute(p.cwd))
      return { field: "cwd", message: `must be an absolute path, got "${p.cwd}"` };
    return undefined;
  },
  async inspect(_name, p, ctx): Promise<Inspection> {
    const argvToRun = execArgv(p);
    const change = ctx.redact(`run ${formatArgv(argvToRun)}`);
    const prepared = processOptions(p, ctx);
    if (prepared.missing !== undefined) {
      // In check mode an earlier resource would have made the user or the cwd: it would run.
      if (!ctx.check) throw new ResourceFailed(prepared.missing);
      if (p.creates !== undefined && existsSync(p.creates)) return nothingToDo();
      return { changes: [`${change} (${prepared.missing} yet)`], apply: async () => {} };
    }
    if ((await guarded(p, prepared.opts, ctx)) !== undefined) return nothingToDo();
    return { changes: [change], apply: () => run(argvToRun, prepared.opts, ctx) };
  },
};

function nothingToDo(): Inspection {
  return { changes: [], apply: async () => {} };
}
