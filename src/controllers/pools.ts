/**
 * The pool controller (docs/pools.md, "The pool controller"): the thin I/O shell around planPool
 * (pools-plan.ts). Leader only. It watches the pools, the nodes and its own node records, and
 * looks again on a timer (a stopped machine makes no event; repairAfter and startTimeout are
 * deadlines); each round it reads the store and each pool's provider, plans, starts the actions
 * (creates and destroys run in the background, one per node at a time) and writes the pool's
 * status when it changed.
 */
import { Rounds } from "./rounds.js";
import { isGantryError } from "../errors.js";
import { K } from "../model/keys.js";
import { type PoolRecord, type PoolStatus } from "../model/pool.js";
import {
  type NodeCredentials,
  type NodeProvider,
  type ProviderRegistry,
} from "../pools/provider.js";
import { CompactedError, type Store } from "../store/index.js";
import { MachineLists } from "./pools-machines.js";
import { watchRound } from "./watch-round.js";
import { planPool } from "./pools-plan.js";
import {
  afterDestroy,
  beforeCreate,
  deletePool,
  drainNode,
  endStaleJoin,
  nodeLabels,
} from "./pools-ops.js";
import { ConvergeGate } from "./pools-gate.js";
import { SettingsSync } from "./pools-settings.js";
import { noProvider, StatusWriter } from "./pools-status.js";
import { readConverged, readStoreView, type StoreView } from "./pools-read.js";
import type { CreateFailure, PlanOptions, PoolAction, PoolNodeRecord } from "./pools-types.js";

/** The node a credential is asked for. */
export interface PoolNodeRef {
  name: string;
  pool: string;
  instance: number;
  address: string;
  /** What its node record should carry (pool, address and the pool's labels). */
  labels: Record<string, string>;
}

export interface PoolControllerOptions {
  store: Store;
  /** Providers by the name pools give in `provider:` (a registry when they need the pool's settings). */
  providers: ProviderRegistry;
  /** How a new node's agent joins: a node token or a join token, made by the server. */
  credentials: (node: PoolNodeRef) => Promise<NodeCredentials>;
  /** A node was destroyed for good or to be made again: revoke what it was given. */
  forgetCredentials?: (node: string) => Promise<void>;
  /** Look at every pool this often even without events (ms; default 1 s): machines die silently. */
  pollMs?: number;
  /**
   * Ask a provider for a pool's machines at most this often (ms, by provider name; default
   * 500): a cloud's list may be slow or rate-limited. Asked again at once after a create or destroy.
   */
  listEveryMs?: Readonly<Record<string, number>>;
  plan?: PlanOptions;
  log?: (line: string) => void;
  now?: () => number;
}

export interface PoolController {
  /** Stop watching and planning; machines keep running (a new leader finds them by provider.list). */
  stop(): Promise<void>;
}

const WATCHED = [K.poolSpecs, K.poolNodes, K.nodes, K.assignments, K.convergeRuns] as const;

export function startPoolController(opts: PoolControllerOptions): PoolController {
  const c = new Controller(opts);
  c.start();
  return c;
}

class Controller implements PoolController {
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private stopped = false;
  /** Ends the watches, also ones still being opened when stop() came. */
  private readonly abort = new AbortController();
  private readonly rounds = new Rounds({
    round: () => this.round(),
    failed: (err) => {
      this.log(`pool controller: ${err instanceof Error ? err.message : String(err)}`);
      this.wakeAt(this.now() + 1000);
    },
    stopped: () => this.stopped,
  });
  private readonly cancels: (() => void)[] = [];
  private poll: ReturnType<typeof setInterval> | undefined;
  private wake: { at: number; timer: ReturnType<typeof setTimeout> } | undefined;
  /** Nodes being created or destroyed, and the background tasks doing it. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly downSince = new Map<string, number>();
  private readonly failures = new Map<string, CreateFailure>();
  /**
   * Creates and destroys finished, by pool. A round whose store view was read before one of its
   * pool's ended plans nothing for that pool (the next round reads again): with the task no
   * longer in flight, a stale view shows a node just destroyed for repair without `repairing`,
   * and it would be made again as a plain retry, outside the one-repair-at-a-time rule.
   */
  private readonly settled = new Map<string, number>();
  private readonly statuses: StatusWriter;
  private readonly lists: MachineLists;
  private readonly providers: ProviderRegistry;
  private readonly settings: SettingsSync;
  private readonly gate: ConvergeGate;

  constructor(private readonly opts: PoolControllerOptions) {
    this.providers = opts.providers;
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
    this.now = opts.now ?? Date.now;
    this.statuses = new StatusWriter(opts.store, this.now);
    this.settings = new SettingsSync(opts.store);
    this.gate = new ConvergeGate(opts.store);
    this.lists = new MachineLists(this.providers, (p) => opts.listEveryMs?.[p] ?? 500, this.now);
  }

  start(): void {
    void this.watchAll();
    this.poll = setInterval(() => this.mark(), this.opts.pollMs ?? 1000);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.poll);
    if (this.wake !== undefined) clearTimeout(this.wake.timer);
    for (const cancel of this.cancels) cancel();
    await this.rounds.idle();
  }

  private async watchAll(): Promise<void> {
    while (!this.stopped) {
      const failed = await watchRound({
        store: this.opts.store,
        prefixes: WATCHED,
        cancels: this.cancels,
        signal: this.abort.signal,
        opened: () => this.mark(),
        onBatch: () => this.mark(),
      });
      if (this.stopped) return;
      if (!(failed instanceof CompactedError))
        this.log(`pool controller: watch: ${String(failed)}; watching again`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private mark(): void {
    this.rounds.mark();
  }

  /** One look at every pool. */
  private async round(): Promise<void> {
    const settled = new Map(this.settled);
    const view = await readStoreView(this.opts.store);
    for (const { record, modRevision } of view.pools) {
      if (this.stopped) return;
      try {
        await this.reconcile(record, modRevision, view, settled.get(record.name));
      } catch (err) {
        if (this.stopped) return;
        this.event(record.name, `${err instanceof Error ? err.message : String(err)}`, true);
        this.log(`pool controller: ${record.name}: ${String(err)}`);
        this.wakeAt(this.now() + 1000);
      }
    }
  }

  private async reconcile(
    record: PoolRecord,
    specRevision: number,
    view: StoreView,
    settled: number | undefined,
  ): Promise<void> {
    const now = this.now();
    const nodes = await this.observe(view.nodes.get(record.name) ?? [], view.live, now);
    const missing = this.lists.missing(record, nodes);
    if (missing.length > 0)
      return this.writeStatus(record.name, view, noProvider(record, missing, this.providers.names));
    await this.settings.sync(record, nodes);
    const { machines, owner } = await this.lists.list(record, nodes);
    const withRoles = record.spec.roles.length > 0;
    const converged = withRoles
      ? await readConverged(
          this.opts.store,
          nodes.filter((n) => view.live.has(n.name)),
        )
      : new Set<string>();
    if (withRoles) await this.gate.release(record, nodes, converged);
    // A provider's list may take seconds (a command, ssh): a create or destroy may have ended
    // since the view was read. Nothing awaits between here and the plan.
    if (this.settled.get(record.name) !== settled) return;
    const failure = this.failures.get(record.name);
    const plan = planPool(
      {
        record,
        machines,
        nodes,
        live: view.live,
        downSince: this.downSince,
        busy: view.busy,
        converged,
        inFlight: new Set(this.inFlight.keys()),
        ...(failure === undefined ? {} : { failure }),
        now,
      },
      this.opts.plan,
    );
    if (plan.wakeAt !== undefined) this.wakeAt(plan.wakeAt);
    const byName = new Map(nodes.map((n) => [n.name, n]));
    for (const m of machines)
      if (!byName.has(m.name)) byName.set(m.name, { ...m, settingsHash: record.settingsHash });
    for (const action of plan.actions) await this.run(record, specRevision, action, byName, owner);
    if (plan.actions.some((a) => a.kind === "deletePool")) return;
    await this.writeStatus(record.name, view, plan.status);
  }

  /**
   * Bookkeeping before planning: a node seen joined for the first time since its create gets
   * `joinedAt` (a repair is then done); a node that had joined and is not live is down since now.
   */
  private async observe(
    nodes: PoolNodeRecord[],
    live: ReadonlySet<string>,
    now: number,
  ): Promise<PoolNodeRecord[]> {
    const out: PoolNodeRecord[] = [];
    for (const rec of nodes) {
      let next = rec;
      if (live.has(rec.name) && rec.joinedAt === undefined && !this.inFlight.has(rec.name)) {
        const { repairing: _r, ...rest } = rec;
        next = { ...rest, joinedAt: new Date(now).toISOString() };
        await this.opts.store.put(`${K.poolNodes}${rec.pool}/${rec.name}`, JSON.stringify(next));
      }
      if (live.has(rec.name) || next.joinedAt === undefined) this.downSince.delete(rec.name);
      else if (!this.downSince.has(rec.name)) this.downSince.set(rec.name, now);
      out.push(next);
    }
    return out;
  }

  private async run(
    pool: PoolRecord,
    specRevision: number,
    a: PoolAction,
    nodes: Map<string, PoolNodeRecord>,
    owner: Map<string, NodeProvider>,
  ): Promise<void> {
    const store = this.opts.store;
    switch (a.kind) {
      case "deletePool": {
        const res = await store.txn(deletePool(pool.name, specRevision));
        if (res.succeeded) {
          this.statuses.forget(pool.name);
          this.failures.delete(pool.name);
        }
        return;
      }
      case "drain": {
        const node = nodes.get(a.node);
        if (node === undefined) return;
        await store.txn(drainNode(node, a.reason, new Date(this.now())));
        this.event(pool.name, `draining ${a.node} (${a.reason})`);
        return;
      }
      case "create": {
        const provider = this.providers.get(pool.spec.provider, pool)!;
        const prev = nodes.get(a.node);
        return this.background(pool.name, a.node, () => this.create(pool, a, prev, provider));
      }
      case "destroy": {
        const node = nodes.get(a.node);
        const provider =
          owner.get(a.node) ?? this.providers.get(node?.provider ?? pool.spec.provider, pool);
        if (node === undefined || provider === undefined) return;
        return this.background(pool.name, a.node, () => this.destroy(pool, a, node, provider));
      }
    }
  }

  /** Run a create or destroy in the background; the next round is planned when it ends. */
  private background(pool: string, node: string, task: () => Promise<void>): void {
    const p = task()
      .catch((err: unknown) => {
        if (!this.stopped) this.log(`pool controller: ${node}: ${String(err)}`);
      })
      .finally(() => {
        this.inFlight.delete(node);
        this.settled.set(pool, (this.settled.get(pool) ?? 0) + 1);
        this.lists.forget(pool);
        this.mark();
      });
    this.inFlight.set(node, p);
  }

  private async create(
    pool: PoolRecord,
    a: Extract<PoolAction, { kind: "create" }>,
    prev: PoolNodeRecord | undefined,
    provider: NodeProvider,
  ): Promise<void> {
    const rec: PoolNodeRecord = {
      name: a.node,
      pool: pool.name,
      instance: a.instance,
      address: a.address,
      provider: pool.spec.provider,
      settingsHash: pool.settingsHash,
      createdAt: new Date(this.now()).toISOString(),
      ...(prev?.repairing || a.why === "repair" ? { repairing: true as const } : {}),
      ...(a.surgeFor === undefined ? {} : { surgeFor: a.surgeFor }),
    };
    await endStaleJoin(this.opts.store, a.node);
    await this.opts.store.txn({ success: beforeCreate(pool, rec) });
    const labels = nodeLabels(pool, rec);
    try {
      const credentials = await this.opts.credentials({ ...rec, labels });
      await provider.create({ ...rec, credentials });
    } catch (err) {
      // An earlier leader's create of this name finished after all: the machine is there.
      if (isGantryError(err) && err.code === "conflict") return;
      const f = this.failures.get(pool.name);
      const message = err instanceof Error ? err.message : String(err);
      this.failures.set(pool.name, { attempts: (f?.attempts ?? 0) + 1, at: this.now(), message });
      this.event(pool.name, `creating ${a.node} failed: ${message}`, true);
      return;
    }
    this.failures.delete(pool.name);
    const why =
      a.why === "surge" ? ` to replace ${a.surgeFor}` : a.why === "repair" ? " again" : "";
    this.event(pool.name, `created ${a.node} (${a.address})${why}`);
  }

  private async destroy(
    pool: PoolRecord,
    a: Extract<PoolAction, { kind: "destroy" }>,
    node: PoolNodeRecord,
    provider: NodeProvider,
  ): Promise<void> {
    await provider.destroy(a.node);
    await this.opts.forgetCredentials?.(a.node);
    if (this.stopped) return;
    await this.opts.store.txn({ success: afterDestroy(node, a.repair) });
    this.downSince.delete(a.node);
    this.event(
      pool.name,
      `destroyed ${a.node} (${a.reason})${a.repair ? `; creating it again as ${node.address}` : ""}`,
    );
  }

  private event(pool: string, message: string, error = false): void {
    this.statuses.event(pool, message, error);
    this.mark();
  }

  private writeStatus(
    pool: string,
    view: StoreView,
    s: Omit<PoolStatus, "updatedAt" | "lastEvent">,
  ): Promise<void> {
    return this.statuses.write(pool, s, view.statuses.get(pool));
  }

  private wakeAt(at: number): void {
    const cur = this.wake;
    if (cur !== undefined && cur.at <= at && cur.at > this.now()) return;
    if (cur !== undefined) clearTimeout(cur.timer);
    const timer = setTimeout(
      () => {
        this.wake = undefined;
        this.mark();
      },
      Math.max(0, at - this.now()) + 5,
    );
    timer.unref();
    this.wake = { at, timer };
  }
}
