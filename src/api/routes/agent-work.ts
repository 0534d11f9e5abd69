import * as z from "zod";
import { assignmentKey, instanceKey, testConfigKey } from "../../apps/keys.js";
import { SecretBox } from "../../apps/secrets.js";
import { ArtifactStore } from "../../build/artifacts.js";
import { GantryError, ValidationError, notFound } from "../../errors.js";
import {
  AppConfigSchema,
  AssignmentSchema,
  InstanceStatusSchema,
  releaseKey,
  ReleaseSchema,
  type Assignment,
  type InstanceStatus,
} from "../../model/app.js";
import { K } from "../../model/keys.js";
import { NodeNameSchema } from "../../model/node.js";
import { allows, isAdmin } from "../../model/token.js";
import { text, type KeyValue } from "../../store/index.js";
import { AssignmentFeed } from "../assignment-feed.js";
import { parseWait } from "../blocking.js";
import type { Ctx } from "../context.js";
import { forbidden } from "../errors.js";
import { pathParam, requestSignal } from "../path-params.js";
import type { ApiDeps, RouteDef } from "../server.js";

const InstanceIdParam = AssignmentSchema.shape.id;
const ShaParam = z.string().regex(/^[0-9a-f]{64}$/, "must be a sha256 in lower-case hex");

const parseAssignment = (kv: KeyValue): Assignment | undefined => {
  try {
    const r = AssignmentSchema.safeParse(JSON.parse(text(kv.value)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
};

/**
 * What agents need to run their node's work: the node's assignments (blocking reads), each
 * one's environment (decrypted config), the artifacts, and the instance status they report.
 * Node routes take `node:<node>:write` — the agent token's right.
 */
export function agentWorkRoutes(deps: ApiDeps): RouteDef[] {
  const { store } = deps;
  let box: SecretBox | undefined;

  /** The apps service's data directory (it makes a temporary one for store-only servers). */
  const dataDir = (): string => {
    const dir = deps.apps?.dataDir ?? deps.dataDir;
    if (dir === undefined)
      throw new GantryError("unavailable", "this server has no data directory", { status: 503 });
    return dir;
  };
  const secrets = (): SecretBox => deps.apps?.secrets ?? (box ??= new SecretBox({ dataDir }));
  // One watch on assignments/ for every agent's blocking query (started by the first request).
  let feed: AssignmentFeed | undefined;

  const writableNode = (ctx: Ctx, name: string): string => {
    const node = pathParam(ctx, name, NodeNameSchema);
    if (!allows(ctx.who.policies, "node", node, "write")) throw forbidden(`write node "${node}"`);
    return node;
  };

  return [
    {
      method: "GET",
      path: "/v1/nodes/:node/assignments",
      summary: "What a node must run: its Assignment[] (?index&wait to block until a change)",
      handler: async (ctx) => {
        ctx.allowQuery("index", "wait");
        const node = writableNode(ctx, "node");
        const prefix = `${K.assignments}${node}/`;
        feed ??= new AssignmentFeed(store, deps.closing, K.assignments);
        if (ctx.query.has("index")) {
          const index = ctx.int("index", 0);
          const waitMs = parseWait(ctx.query.get("wait"));
          await feed.wait(node, index, waitMs, requestSignal(ctx, deps.closing));
        } else {
          if (ctx.query.has("wait"))
            throw new ValidationError(
              "wait needs index (the X-Gantry-Index of a previous answer)",
              "wait",
            );
          // Started before the read, so the index this answer gives is covered by the feed.
          await feed.start().catch(() => undefined);
        }
        const res = await store.range({ prefix });
        const list = res.kvs.map(parseAssignment).filter((a) => a !== undefined);
        ctx.send(200, list, { "x-gantry-index": String(res.revision) });
      },
    },
    {
      method: "GET",
      path: "/v1/nodes/:node/assignments/:id/env",
      summary:
        "An assignment's environment: its release's config, decrypted (a build's test run: the app's TEST config and CI=true) → {env}",
      handler: async (ctx) => {
        ctx.allowQuery();
        const node = writableNode(ctx, "node");
        const id = pathParam(ctx, "id", InstanceIdParam);
        const kv = await store.get(assignmentKey(node, id));
        const a = kv === undefined ? undefined : parseAssignment(kv);
        if (a === undefined) throw notFound(`assignment "${id}" on node "${node}"`);
        if (a.config === "test") {
          const test = await store.get(testConfigKey(a.app));
          const cfg =
            test === undefined
              ? undefined
              : AppConfigSchema.safeParse(JSON.parse(text(test.value)));
          const values = cfg?.success === true ? cfg.data.values : {};
          return ctx.send(200, { env: { ...secrets().open(a.app, values, "test"), CI: "true" } });
        }
        const rel = await store.get(releaseKey(a.app, a.release));
        const parsed =
          rel === undefined ? undefined : ReleaseSchema.safeParse(JSON.parse(text(rel.value)));
        if (!parsed?.success) throw notFound(`release v${a.release} of app "${a.app}"`);
        ctx.send(200, { env: secrets().open(a.app, parsed.data.config) });
      },
    },
    {
      method: "PUT",
      path: "/v1/instances/:id",
      summary: "An agent reports an instance's status (InstanceStatus); only while it is assigned",
      handler: async (ctx) => {
        ctx.allowQuery();
        const id = pathParam(ctx, "id", InstanceIdParam);
        const body = await ctx.json(InstanceStatusSchema);
        if (body.id !== id) throw new ValidationError(`id must be "${id}", as in the path`, "id");
        if (!allows(ctx.who.policies, "node", body.node, "write"))
          throw forbidden(`report instances of node "${body.node}"`);
        const aKey = assignmentKey(body.node, id);
        const kv = await store.get(aKey);
        const a = kv === undefined ? undefined : parseAssignment(kv);
        if (a === undefined) throw notFound(`assignment "${id}" on node "${body.node}"`);
        if (a.app !== body.app) throw new ValidationError(`app must be "${a.app}"`, "app");
        const status: InstanceStatus = { ...body, updatedAt: new Date().toISOString() };
        // Written only while the assignment exists, so a late report cannot resurrect the
        // record of an instance the controller already removed.
        const res = await store.txn({
          compare: [{ key: aKey, target: "version", op: ">", value: 0 }],
          success: [{ type: "put", key: instanceKey(id), value: JSON.stringify(status) }],
        });
        if (!res.succeeded) throw notFound(`assignment "${id}" on node "${body.node}"`);
        ctx.send(200, { ok: true, revision: res.revision });
      },
    },
    {
      method: "DELETE",
      path: "/v1/instances/:id",
      summary: "Remove an instance's status (its agent stopped it after the assignment went away)",
      handler: async (ctx) => {
        ctx.allowQuery();
        const id = pathParam(ctx, "id", InstanceIdParam);
        const kv = await store.get(instanceKey(id));
        if (kv === undefined) throw notFound(`instance "${id}"`);
        let node: string | undefined;
        try {
          node = (JSON.parse(text(kv.value)) as InstanceStatus).node;
        } catch {
          node = undefined;
        }
        if (!isAdmin(ctx.who.policies) && !allows(ctx.who.policies, "node", node ?? "", "write"))
          throw forbidden(`remove instances of node "${node}"`);
        const res = await store.txn({
          compare: [
            { key: instanceKey(id), target: "modRevision", op: "==", value: kv.modRevision },
          ],
          success: [{ type: "delete", range: instanceKey(id) }],
        });
        if (!res.succeeded)
          throw new GantryError("conflict", "the instance changed meanwhile", { status: 409 });
        ctx.send(200, { ok: true, revision: res.revision });
      },
    },
    {
      method: "GET",
      path: "/v1/artifacts/:sha",
      summary: "Download an artifact (.tar.gz) — for agents whose node is assigned to run it",
      handler: async (ctx) => {
        ctx.allowQuery();
        const sha = pathParam(ctx, "sha", ShaParam);
        if (!isAdmin(ctx.who.policies)) {
          // Content addresses are not secrets: a token gets an artifact only when a node it
          // may write has an assignment that runs it.
          const res = await store.range({ prefix: K.assignments });
          const mayRun = res.kvs.some((kv) => {
            const a = parseAssignment(kv);
            return a?.artifact === sha && allows(ctx.who.policies, "node", a.node, "write");
          });
          if (!mayRun) throw forbidden(`download artifact ${sha.slice(0, 12)}`);
        }
        const artifacts = new ArtifactStore(dataDir());
        // Built on another server (which may be gone): copied from a peer that has it.
        if (!artifacts.has(sha)) await deps.artifactPeers?.fetch(sha);
        const { stream, size } = artifacts.open(sha);
        ctx.res.writeHead(200, {
          "content-type": "application/gzip",
          "content-length": size,
          "x-gantry-sha256": sha,
        });
        await new Promise<void>((resolve, reject) => {
          stream.on("error", (err) => {
            ctx.res.destroy();
            reject(err);
          });
          ctx.res.on("close", resolve);
          stream.pipe(ctx.res);
        });
      },
    },
  ];
}
