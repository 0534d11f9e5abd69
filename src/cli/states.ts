import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConvergeClient } from "../client/converge.js";
import { compile } from "../converge/compile.js";
import { StateErrors } from "../converge/error-list.js";
import { gatherFacts } from "../converge/facts.js";
import { readStatesDir } from "../converge/files.js";
import { loadStates } from "../converge/load.js";
import type { StateSet } from "../converge/types.js";
import { ValidationError } from "../errors.js";
import type { NodeConverge } from "../model/converge.js";
import { NodeNameSchema } from "../model/node.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";
import { colours, json, table, type Output } from "../output/output.js";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `k=v` pairs into a map; values that are JSON (numbers, true, lists) are taken as such. */
function pairs(list: string[], flag: string, typed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of list) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new ValidationError(`${flag} must be NAME=VALUE, got "${p}"`, flag);
    const raw = p.slice(eq + 1);
    let value: unknown = raw;
    if (typed) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    out[p.slice(0, eq)] = value;
  }
  return out;
}

// Problems that do not depend on a node's vars or facts: worth a warning before a push.
const STATIC_PROBLEM =
  /: (no handler|no resource|require cycle|duplicate id|"[^"]*" is a (handler|resource))/;

/**
 * What compiling each role of top.yaml here finds wrong in the wiring of the states (a notify
 * of a missing handler, a require cycle): load cannot see those, and an agent would refuse to
 * run them. Compiled with this machine's facts, no node vars and one role at a time, so these
 * are warnings (`role web: web.yaml:9: notify[0]: no handler "x"`), not proof.
 */
async function wiringWarnings(set: StateSet): Promise<string[]> {
  const roles = Object.keys(set.top?.roles ?? {});
  if (roles.length === 0) return [];
  const facts = await gatherFacts({ roles: [], labels: {} });
  const found = new Map<string, string[]>();
  for (const role of roles) {
    try {
      await compile(set, { roles: [role], states: [], nodeVars: {}, extraVars: {}, facts });
    } catch (err) {
      const errors = err instanceof StateErrors ? err.errors : [err];
      for (const e of errors)
        if (e instanceof Error && STATIC_PROBLEM.test(e.message))
          found.set(e.message, [...(found.get(e.message) ?? []), role]);
    }
  }
  return [...found].map(([message, inRoles]) => `role ${inRoles.join(", ")}: ${message}`);
}

function showNode(o: Output, v: NodeConverge & { node: string }): void {
  const c = colours(o);
  o.out(`${c.bold(v.node)}`);
  o.out(`  roles   ${v.roles.length === 0 ? c.dim("(none)") : v.roles.join(", ")}`);
  for (const [k, val] of Object.entries(v.vars)) o.out(`  var     ${k}=${JSON.stringify(val)}`);
  for (const [k, val] of Object.entries(v.labels)) o.out(`  label   ${k}=${val}`);
}

interface RolesOptions {
  var: string[];
  unsetVar: string[];
  label: string[];
  unsetLabel: string[];
  clear?: boolean;
  json?: boolean;
}

/** `gantry states push DIR`, `gantry states`, and `gantry nodes:roles` (converge by agents). */
export function registerStatesCommands(program: Command, o: Output): void {
  const states = program
    .command("states")
    .description("the states agents converge their nodes to (see docs/converge.md)")
    .option("--json", "print the summary as JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry states push ./states          # validated here first; agents converge on change
  $ gantry states                        # the pushed hash, time and files
  $ gantry nodes:roles web-1 web --var port=8080`,
    )
    .action(async (opts: { json?: boolean }) => {
      const summary = await new ConvergeClient(clientFromEnv()).states();
      if (opts.json) return json(o, summary ?? null);
      if (summary === undefined) return o.out("no states pushed yet (gantry states push DIR)");
      o.out(`hash      ${summary.hash}`);
      o.out(`pushed    ${summary.pushedAt} by ${summary.by}`);
      table(
        o,
        ["FILE", "BYTES"],
        summary.files.map((f) => [f.path, String(f.bytes)]),
      );
    });

  states
    .command("push <dir>")
    .description("validate a states dir here, then store it for the agents")
    .addHelpText(
      "after",
      `
Every agent whose node has roles (gantry nodes:roles) converges to the new states.
Examples:
  $ gantry states push ./states
  $ gantry states push examples/states && gantry nodes:roles web-1 web && gantry converge status`,
    )
    .action(async (dir: string) => {
      const abs = resolve(dir);
      if (!existsSync(abs) || !statSync(abs).isDirectory())
        throw new ValidationError(`${dir} is not a directory`, "dir");
      const files = readStatesDir(abs);
      // Bad states never reach the server: the same load the agents run, before the upload.
      const set = loadStates(files, { dir: abs });
      const warnings = await wiringWarnings(set);
      for (const w of warnings) o.err(`warning: ${w}`);
      const res = await new ConvergeClient(clientFromEnv()).pushStates(files);
      o.out(`pushed ${res.files} files (hash ${res.hash.slice(0, 12)}, revision ${res.revision})`);
      if (warnings.length > 0)
        o.err("warning: nodes with these roles will fail to converge (see gantry converge status)");
    });

  program
    .command("nodes:roles [node] [roles...]")
    .description("show or set a node's converge roles, vars and labels")
    .option("--var <name=value>", "set a node var (JSON values are typed: 8080, true)", collect, [])
    .option("--unset-var <name>", "remove a node var", collect, [])
    .option("--label <name=value>", "set a node label", collect, [])
    .option("--unset-label <name>", "remove a node label", collect, [])
    .option("--clear", "remove the node's settings: its agent stops converging")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Without ROLES and flags it shows the settings; with ROLES it replaces the roles.
Examples:
  $ gantry nodes:roles                     # every node's settings
  $ gantry nodes:roles web-1 web monitoring --var port=8080 --label zone=a
  $ gantry nodes:roles web-1 --clear`,
    )
    .action(async (node: string | undefined, roles: string[], opts: RolesOptions) => {
      const client = new ConvergeClient(clientFromEnv());
      if (node === undefined) {
        const all = await client.nodes();
        if (opts.json) return json(o, all);
        return table(
          o,
          ["NODE", "ROLES", "VARS", "LABELS"],
          all.map((n) => [
            n.node,
            n.roles.join(","),
            Object.keys(n.vars).join(","),
            Object.entries(n.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(","),
          ]),
          "no node has converge settings (gantry nodes:roles NODE ROLE…)",
        );
      }
      const name = parseWith(NodeNameSchema, node, "node");
      if (opts.clear) {
        await client.unsetNode(name);
        return o.out(`cleared the converge settings of ${name}`);
      }
      const { value: cur } = await client.node(name);
      const changing =
        roles.length > 0 ||
        opts.var.length + opts.unsetVar.length + opts.label.length + opts.unsetLabel.length > 0;
      if (!changing) return opts.json ? json(o, cur) : showNode(o, cur);
      const vars = { ...cur.vars, ...pairs(opts.var, "--var", true) };
      for (const k of opts.unsetVar) delete vars[k];
      const labels = {
        ...cur.labels,
        ...(pairs(opts.label, "--label", false) as Record<string, string>),
      };
      for (const k of opts.unsetLabel) delete labels[k];
      const next = await client.setNode(name, {
        roles: roles.length > 0 ? roles : cur.roles,
        vars,
        labels,
      });
      if (opts.json) json(o, next);
      else showNode(o, next);
    });
}
