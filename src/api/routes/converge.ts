import { kvsOf, parseRecord } from "../../apps/records.js";
import { ValidationError, conflict, notFound } from "../../errors.js";
import {
  MAX_STATES_BYTES,
  NodeConvergeSchema,
  RunRecordSchema,
  RUNS_KEPT,
  StatesBundleSchema,
  statesHash,
  StatesPushSchema,
  type NodeConverge,
  type RunRecord,
  type StatesBundle,
  type StatesSummary,
} from "../../model/converge.js";
import { K } from "../../model/keys.js";
import { NodeNameSchema } from "../../model/node.js";
import { allows, allowsPrefix, type Policy } from "../../model/token.js";
import { text, type KeyValue, type Store } from "../../store/index.js";
import { blockIfAsked } from "../blocking.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

/** What GET /v1/nodes/:node/converge answers: the node's settings and the bundle's hash. */
export interface NodeConvergeView extends NodeConverge {
  node: string;
  /** False when nobody set this node's roles yet (the settings shown are the empty defaults). */
  configured: boolean;
  /** The pushed states bundle's hash; undefined when none was pushed. */
  statesHash: string | undefined;
  /** The settings record's modRevision (0: not set). */
  modRevision: number;
}

/**
 * Agents read the bundle: a token that may write some node (an agent's token) may read it, as
 * may `states::read`. Pushing it takes `states::write` (a policy whose prefix is empty).
 */
const mayReadStates = (p: readonly Policy[]): boolean =>
  allowsPrefix(p, "states", "", "read") ||
  p.some((x) => !("admin" in x) && x.resource === "node" && x.access === "write");

/** A node's settings and runs: readable with `node:NODE:read` or `states:NODE:read`. */
const mayReadNode = (p: readonly Policy[], node: string): boolean =>
  allows(p, "node", node, "read") || allows(p, "states", node, "read");

/**
 * Converge by agents: the states bundle, each node's roles/vars/labels, and the runs agents
 * report (docs/converge.md, "By agents").
 */
export function convergeRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;

  const nodeParam = (ctx: Ctx): string => pathParam(ctx, "node", NodeNameSchema);

  /** The path's node, once the token may read its settings and runs. */
  const readableNode = (ctx: Ctx): string => {
    const node = nodeParam(ctx);
    if (!mayReadNode(ctx.who.policies, node)) throw forbidden(`read node "${node}"`);
    return node;
  };

  /** The path's node, once the token may set its converge settings. */
  const settableNode = (ctx: Ctx): string => {
    const node = nodeParam(ctx);
    if (!allows(ctx.who.policies, "states", node, "write"))
      throw forbidden(`set the roles of node "${node}"`);
    return node;
  };

  /** Send what `pick` makes of each node's value under `prefix`, for the nodes the token may read. */
  const sendReadable = async <T>(
    ctx: Ctx,
    prefix: string,
    pick: (kv: KeyValue, node: string) => T | undefined,
  ): Promise<void> => {
    const res = await store.range({ prefix });
    const out = res.kvs.flatMap((kv) => {
      const node = kv.key.slice(prefix.length);
      const value = mayReadNode(ctx.who.policies, node) ? pick(kv, node) : undefined;
      return value === undefined ? [] : [value];
    });
    ctx.send(200, out, { "x-gantry-index": String(res.revision) });
  };

  const readView = async (node: string): Promise<{ view: NodeConvergeView; index: number }> => {
    const res = await store.txn({
      success: [
        { type: "get", range: K.convergeNodes + node },
        { type: "get", range: K.convergeStates },
        { type: "get", range: K.nodeLabels + node },
      ],
    });
    const kv = kvsOf(res, 0)[0];
    const settings = parseRecord(kv, NodeConvergeSchema);
    const bundle = parseRecord(kvsOf(res, 1)[0], StatesBundleSchema);
    // The labels it joined with (join-tokens create --labels), under those set for converge.
    const joined = kvsOf(res, 2)[0];
    const joinLabels =
      joined === undefined ? {} : (JSON.parse(text(joined.value)) as Record<string, string>);
    return {
      view: {
        node,
        configured: settings !== undefined,
        roles: settings?.roles ?? [],
        vars: settings?.vars ?? {},
        labels: { ...joinLabels, ...settings?.labels },
        statesHash: bundle?.hash,
        modRevision: settings === undefined ? 0 : kv!.modRevision,
      },
      index: res.revision,
    };
  };

  return [
    {
      method: "PUT",
      path: "/v1/states",
      summary:
        "Push the states dir {files: {path: content}}; validated (top.yaml, state files) before it is stored",
      handler: async (ctx) => {
        ctx.allowQuery();
        if (!allowsPrefix(ctx.who.policies, "states", "", "write")) throw forbidden("push states");
        const { files } = await ctx.json(StatesPushSchema);
        // The same check the CLI makes: a bad states dir never reaches the agents. Loaded on
        // first use: the loader and every resource type are memory an idle server need not hold.
        const { loadStates } = await import("../../converge/load.js");
        loadStates(files);
        const bundle: StatesBundle = {
          files,
          hash: statesHash(files),
          pushedAt: new Date().toISOString(),
          by: ctx.who.name,
        };
        const value = JSON.stringify(bundle);
        if (Buffer.byteLength(value) > MAX_STATES_BYTES)
          throw new ValidationError(
            `the states dir is ${Buffer.byteLength(value)} bytes; at most ${MAX_STATES_BYTES} are allowed`,
            "files",
          );
        const res = await store.txn({
          success: [
            { type: "put", key: K.convergeStates, value },
            deps.audit.entry(ctx.who, "states.push", bundle.hash.slice(0, 12)),
          ],
        });
        ctx.send(200, {
          hash: bundle.hash,
          files: Object.keys(files).length,
          revision: res.revision,
        });
      },
    },
    {
      method: "GET",
      path: "/v1/states",
      summary:
        "The pushed states: {hash, pushedAt, by, files: [{path, bytes}]} (?content: the files too)",
      handler: async (ctx) => {
        ctx.allowQuery("content");
        if (!mayReadStates(ctx.who.policies)) throw forbidden("read states");
        const kv = await store.get(K.convergeStates);
        const bundle = parseRecord(kv, StatesBundleSchema);
        if (bundle === undefined)
          throw notFound("pushed states (push them with gantry states push DIR)");
        if (ctx.flag("content")) return ctx.send(200, { ...bundle, modRevision: kv!.modRevision });
        const summary: StatesSummary = {
          hash: bundle.hash,
          modRevision: kv!.modRevision,
          pushedAt: bundle.pushedAt,
          by: bundle.by,
          files: Object.keys(bundle.files)
            .sort()
            .map((path) => ({ path, bytes: Buffer.byteLength(bundle.files[path]!) })),
        };
        ctx.send(200, summary);
      },
    },
    {
      method: "GET",
      path: "/v1/converge/nodes",
      summary:
        "Every node's converge settings (roles, vars, labels, modRevision) that the token may read",
      handler: async (ctx) => {
        ctx.allowQuery();
        await sendReadable(ctx, K.convergeNodes, (kv, node) => {
          const settings = parseRecord(kv, NodeConvergeSchema);
          return settings === undefined
            ? undefined
            : { node, ...settings, modRevision: kv.modRevision };
        });
      },
    },
    {
      method: "GET",
      path: "/v1/nodes/:node/converge",
      summary:
        "A node's converge settings and the states hash (?index&wait: block until either changes)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        const node = readableNode(ctx);
        await blockIfAsked(ctx, store, [K.convergeNodes + node, K.convergeStates], deps.closing);
        const { view, index } = await readView(node);
        ctx.send(200, view, { "x-gantry-index": String(index) });
      },
    },
    {
      method: "PUT",
      path: "/v1/nodes/:node/converge",
      summary: "Set a node's converge settings {roles, vars, labels} (needs states:NODE:write)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const node = settableNode(ctx);
        const settings = await ctx.json(NodeConvergeSchema);
        const res = await store.txn({
          success: [
            { type: "put", key: K.convergeNodes + node, value: JSON.stringify(settings) },
            deps.audit.entry(ctx.who, "converge.roles", node),
          ],
        });
        ctx.send(200, { node, ...settings, revision: res.revision });
      },
    },
    {
      method: "DELETE",
      path: "/v1/nodes/:node/converge",
      summary: "Remove a node's converge settings: its agent stops converging",
      handler: async (ctx) => {
        ctx.allowQuery();
        const node = settableNode(ctx);
        const key = K.convergeNodes + node;
        const res = await store.txn({
          compare: [{ key, target: "version", op: ">", value: 0 }],
          success: [
            { type: "delete", range: key },
            deps.audit.entry(ctx.who, "converge.unset", node),
          ],
        });
        if (!res.succeeded) throw notFound(`converge settings of node "${node}"`);
        ctx.send(200, { ok: true, revision: res.revision });
      },
    },
    {
      method: "POST",
      path: "/v1/nodes/:node/converge/runs",
      summary: `An agent reports a converge run (RunRecord); the last ${RUNS_KEPT} are kept`,
      handler: async (ctx) => {
        ctx.allowQuery();
        const node = nodeParam(ctx);
        if (!allows(ctx.who.policies, "node", node, "write"))
          throw forbidden(`report runs of node "${node}"`);
        const run = await ctx.json(RunRecordSchema);
        if (run.node !== node)
          throw new ValidationError(`node must be "${node}", as in the path`, "node");
        ctx.send(200, { ok: true, revision: await appendRun(store, node, run) });
      },
    },
    {
      method: "GET",
      path: "/v1/nodes/:node/converge/runs",
      summary: "A node's last converge runs, newest first",
      handler: async (ctx) => {
        ctx.allowQuery();
        const node = readableNode(ctx);
        const kv = await store.get(K.convergeRuns + node);
        ctx.send(200, kv === undefined ? [] : parseRuns(kv));
      },
    },
    {
      method: "GET",
      path: "/v1/converge/runs",
      summary: "The last converge run of every node the token may read: [{node, run}]",
      handler: async (ctx) => {
        ctx.allowQuery();
        await sendReadable(ctx, K.convergeRuns, (kv) => parseRuns(kv)[0]);
      },
    },
  ];
}

function parseRuns(kv: KeyValue): RunRecord[] {
  try {
    const list = JSON.parse(text(kv.value)) as unknown[];
    return list.flatMap((r) => {
      const p = RunRecordSchema.safeParse(r);
      return p.success ? [p.data] : [];
    });
  } catch {
    return [];
  }
}

/** Prepend a run to the node's list (compare-and-swap on the list; agents report one at a time). */
async function appendRun(store: Store, node: string, run: RunRecord): Promise<number> {
  const key = K.convergeRuns + node;
  for (let attempt = 0; attempt < 16; attempt++) {
    const cur = await store.get(key);
    let runs = [run, ...(cur === undefined ? [] : parseRuns(cur))].slice(0, RUNS_KEPT);
    // Keep the value well under the store's limit: older runs go first.
    while (runs.length > 1 && Buffer.byteLength(JSON.stringify(runs)) > MAX_STATES_BYTES)
      runs = runs.slice(0, -1);
    const res = await store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: cur?.modRevision ?? 0 }],
      success: [{ type: "put", key, value: JSON.stringify(runs) }],
    });
    if (res.succeeded) return res.revision;
  }
  throw conflict(`the runs of node "${node}" kept changing; try again`);
}
