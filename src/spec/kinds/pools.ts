import { parseDuration } from "../../model/duration.js";
import { desiredSize, PoolSpecSchema, type PoolSpec, type PoolView } from "../../model/pool.js";
import { PoolsClient } from "../../client/pools.js";
import { GantryError } from "../../errors.js";
import { sleep } from "../../sleep.js";
import type { Kind, KindContext, LiveItem } from "../kind.js";
import { checkPools } from "./pools-check.js";
import { diffPool } from "./pools-diff.js";

/**
 * `pools:` — node pools (issue 14, docs/pools.md): apply writes each pool through
 * `PUT /v1/pools/:name` and the pool controller makes, heals and replaces the machines; the kind
 * never creates one itself. Destroying a pool asks the server to remove it and waits while the
 * controller drains and destroys its nodes and then deletes the record.
 *
 * Apply waits for the pool's nodes to be ready (`waitForReady`), so apps (rank 30) find nodes.
 *
 * No `refs`: the address plan (rank 25) and roles (23) rank below pools, which orders them, and
 * `check` says what is missing in the pools' own words (roles only when the stack has roles).
 */
export const poolKind: Kind<PoolSpec, PoolView> = {
  name: "pool",
  section: "pools",
  rank: 26,
  schema: PoolSpecSchema,

  check(items, all) {
    return checkPools(items, all);
  },

  async read(ctx, names) {
    const wanted = new Set(names);
    const out = new Map<string, LiveItem<PoolView>>();
    if (wanted.size === 0) return out;
    for (const view of await new PoolsClient(ctx.client).list()) {
      if (!wanted.has(view.name)) continue;
      const rev = view.modRevision;
      out.set(view.name, {
        name: view.name,
        value: view,
        revisions: { [`pools/specs/${view.name}`]: rev },
      });
    }
    return out;
  },

  diff(item, live) {
    return diffPool(item.name, item.spec, live?.value);
  },

  async create(ctx, item) {
    await put(ctx, item.name, item.spec);
  },
  async update(ctx, item, _live, changes) {
    if (changes.some((c) => c.info !== true)) await put(ctx, item.name, item.spec);
  },
  async destroy(ctx, name) {
    await destroyPool(ctx, name);
  },
};

async function put(ctx: KindContext, name: string, spec: PoolSpec): Promise<void> {
  const view = await new PoolsClient(ctx.client).put(name, spec);
  const n = view.scaledTo ?? spec.size;
  ctx.progress(
    `pool ${name}: ${n} node${n === 1 ? "" : "s"} (${spec.provider}) on ${view.addressPattern}`,
  );
  const waitMs = parseDuration(spec.waitForReady ?? spec.startTimeout) ?? 0;
  if (waitMs > 0) await waitForReady(ctx, name, waitMs);
}

/** The pool's nodes are not ready within `waitForReady`. */
export class PoolNotReadyError extends GantryError {
  constructor(name: string, why: string) {
    super(
      "pool_not_ready",
      `pool ${name}: ${why}; see gantry pools:info ${name} (the controller carries on; set waitForReady: 0s not to wait)`,
      { status: 504 },
    );
  }
}

/**
 * Wait until the pool has as many ready nodes as it should (the items after it, such as apps,
 * need somewhere to run), saying how far it got every `reportMs`; a halted pool fails at once.
 */
export async function waitForReady(
  ctx: KindContext,
  name: string,
  timeoutMs: number,
  opts: { pollMs?: number; reportMs?: number } = {},
): Promise<void> {
  await followPool(
    ctx,
    name,
    { timeoutMs, pollMs: 250, ...opts },
    {
      look(view) {
        if (view === undefined) throw new PoolNotReadyError(name, "removed while apply waited");
        const want = desiredSize(view);
        const s = view.status;
        if (s !== undefined && s.ready >= want && s.desired === want)
          return { done: `${s.ready} of ${want} ready` };
        if (s?.halted !== undefined) throw new PoolNotReadyError(name, s.halted);
        return { state: readyState(view) };
      },
      timedOut: (state, ms) =>
        new PoolNotReadyError(name, `${state} after ${Math.round(ms / 1000)}s (waitForReady)`),
    },
  );
}

/** What one look at a pool found: done (and what to say), or where it is. */
type Look = { done: string } | { state: string };

/**
 * Look at pool `name` every `pollMs` until `look` says done (or throws), saying where it is every
 * `reportMs`; `timedOut` after `timeoutMs`; stops when `ctx.signal` aborts (the stack lock lost,
 * as apply does between items).
 */
async function followPool(
  ctx: KindContext,
  name: string,
  opts: { timeoutMs: number; pollMs?: number; reportMs?: number },
  how: { look(view: PoolView | undefined): Look; timedOut(state: string, ms: number): Error },
): Promise<void> {
  const { timeoutMs, pollMs = 500, reportMs = 5000 } = opts;
  const pools = new PoolsClient(ctx.client);
  const signal = ctx.signal ?? new AbortController().signal;
  const started = Date.now();
  let reported = started;
  for (;;) {
    const seen = how.look(await pools.get(name));
    if ("done" in seen) {
      ctx.progress(`pool ${name}: ${seen.done}`);
      return;
    }
    const now = Date.now();
    if (now - started >= timeoutMs) throw how.timedOut(seen.state, now - started);
    if (now - reported >= reportMs) {
      ctx.progress(`pool ${name}: ${seen.state}`);
      reported = now;
    }
    await sleep(pollMs, signal);
    signal.throwIfAborted();
  }
}

/** `1 of 3 ready (2 joining); last: create of web-2 failed: …` */
function readyState(view: PoolView): string {
  const s = view.status;
  if (s === undefined) return "waiting for the pool controller";
  const joining = s.joining > 0 ? ` (${s.joining} joining)` : "";
  const last = s.lastEvent?.error === true ? `; last: ${s.lastEvent.message}` : "";
  return `${s.ready} of ${desiredSize(view)} ready${joining}${last}`;
}

/** A pool still there when destroy stopped waiting for it. */
export class PoolRemovalTimeoutError extends GantryError {
  constructor(name: string, waitedMs: number, last: string) {
    super(
      "pool_removal_timeout",
      `pool ${name} is still being removed after ${Math.round(waitedMs / 1000)}s (${last}); the pool controller carries on: run gantry plan later to see it gone`,
      { status: 504 },
    );
  }
}

/**
 * `DELETE /v1/pools/:name`, then wait until the record is gone (the controller drains and
 * destroys the nodes first), saying how far it got every `reportMs`; gives up after `timeoutMs`
 * or when `ctx.signal` aborts (the stack lock lost).
 */
export async function destroyPool(
  ctx: KindContext,
  name: string,
  opts: { timeoutMs?: number; pollMs?: number; reportMs?: number } = {},
): Promise<void> {
  await new PoolsClient(ctx.client).delete(name);
  await followPool(
    ctx,
    name,
    { timeoutMs: 10 * 60_000, ...opts },
    {
      look: (view) => (view === undefined ? { done: "removed" } : { state: removalState(view) }),
      timedOut: (state, ms) => new PoolRemovalTimeoutError(name, ms, state),
    },
  );
}

/** `2 nodes left (1 draining)` from the pool's last status. */
function removalState(view: PoolView): string {
  const nodes = view.status?.nodes ?? [];
  if (nodes.length === 0) return "waiting for the pool controller";
  const draining = nodes.filter((n) => n.phase === "draining").length;
  return `${nodes.length} node${nodes.length === 1 ? "" : "s"} left${draining > 0 ? ` (${draining} draining)` : ""}`;
}
