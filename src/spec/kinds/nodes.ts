import { CatalogClient } from "../../client/catalog.js";
import { ConvergeClient } from "../../client/converge.js";
import { ApiError } from "../../client/errors.js";
import { NodeConvergeSchema, type NodeConverge } from "../../model/converge.js";
import { NodeNameSchema } from "../../model/node.js";
import { didYouMean } from "../../text/suggest.js";
import { diffValues } from "../diff.js";
import type { FieldChange, Kind, SpecProblem } from "../kind.js";

/** `nodes.<name>`: the converge settings the stack gives a node (what `gantry nodes:roles` sets). */
export type NodeSpec = NodeConverge;

/** A node as the node kind sees it: whether its agent is live, and its settings if set. */
export interface LiveNode {
  joined: boolean;
  settings?: NodeConverge;
}

/**
 * `nodes:` — roles, vars and labels of nodes that exist (pools that create them come later).
 * A node that has not joined yet gets its settings ahead of time (its agent converges to them
 * when it joins) and the plan says it waits; the stack never destroys a node: destroying the
 * item clears the settings the stack set.
 */
export const nodeKind: Kind<NodeSpec, LiveNode> = {
  name: "node",
  section: "nodes",
  rank: 24,
  schema: NodeConvergeSchema,

  check(items, all) {
    const problems = new Map<string, SpecProblem[]>();
    // When the stack defines roles, a node's roles must be among them (else the states were
    // pushed by hand, with their own top.yaml, and any role name may be right).
    const roles = all.filter((i) => i.kind === "role").map((i) => i.name);
    for (const item of items) {
      const list: SpecProblem[] = [];
      const named = NodeNameSchema.safeParse(item.name);
      if (!named.success)
        list.push({ path: "", message: `the node name ${named.error.issues[0]!.message}` });
      if (roles.length > 0)
        item.spec.roles.forEach((r, i) => {
          if (!roles.includes(r))
            list.push({
              path: `roles[${i}]`,
              message: `the stack defines no role "${r}"${didYouMean(r, roles)}`,
            });
        });
      if (list.length > 0) problems.set(item.name, list);
    }
    return problems;
  },

  async read(ctx, names) {
    const [settings, live] = await Promise.all([
      new ConvergeClient(ctx.client).nodes(),
      new CatalogClient(ctx.client).nodes(),
    ]);
    const joined = new Set(live.map((n) => n.name));
    const bySettings = new Map(settings.map((s) => [s.node, s]));
    const out = new Map();
    for (const name of names) {
      const s = bySettings.get(name);
      if (s === undefined && !joined.has(name)) continue;
      out.set(name, {
        name,
        value: {
          joined: joined.has(name),
          ...(s === undefined
            ? {}
            : { settings: { roles: s.roles, vars: s.vars, labels: s.labels } }),
        },
        revisions: { [`converge/nodes/${name}`]: s?.modRevision ?? 0 },
      });
    }
    return out;
  },

  diff(item, live) {
    return diffNode(item.name, item.spec, live?.value);
  },

  async create(ctx, item) {
    await set(ctx, item.name, item.spec);
  },
  async update(ctx, item, _live, changes) {
    if (changes.some((c) => c.info !== true)) await set(ctx, item.name, item.spec);
  },
  async destroy(ctx, name) {
    try {
      await new ConvergeClient(ctx.client).unsetNode(name);
      ctx.progress(`cleared the converge settings of ${name} (the node itself stays)`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  },
};

/** Roles (the list, whole), vars and labels by name; a node not joined yet is an `info` field. */
export function diffNode(name: string, spec: NodeSpec, live: LiveNode | undefined): FieldChange[] {
  const cur = live?.settings;
  const out: FieldChange[] = [];
  if (cur === undefined || cur.roles.join("\0") !== spec.roles.join("\0"))
    out.push({ path: "roles", ...(cur === undefined ? {} : { old: cur.roles }), new: spec.roles });
  out.push(...diffValues(cur?.vars ?? {}, spec.vars, "vars"));
  out.push(...diffValues(cur?.labels ?? {}, spec.labels, "labels"));
  if (live?.joined !== true)
    out.push({
      path: "joined",
      old: false,
      new: `waits for ${name} to join (its agent converges to these settings then)`,
      info: true,
    });
  return out;
}

async function set(
  ctx: Parameters<Kind["create"]>[0],
  name: string,
  spec: NodeSpec,
): Promise<void> {
  await new ConvergeClient(ctx.client).setNode(name, spec);
  ctx.progress(`${name}: roles ${spec.roles.join(", ") || "(none)"}`);
}
