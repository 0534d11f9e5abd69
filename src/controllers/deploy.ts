/**
 * The deploy controller: the thin I/O shell around planDeploy (deploy-plan.ts). It watches the
 * records a deploy depends on, reads one app's snapshot in one transaction, asks the planner for
 * the next transition and writes it as one transaction guarded by the revisions it was planned
 * from — so several servers may run it at once and a transition is never applied twice.
 */
import { deployStepKey } from "../apps/keys.js";
import { idSuffix } from "../apps/run.js";
import { K } from "../model/keys.js";
import {
  CompactedError,
  text,
  type Compare,
  type Store,
  type TxnOp,
  type WatchEvent,
} from "../store/index.js";
import { planDeploy, type Transition } from "./deploy-plan.js";
import { readSnapshot, type Snapshot } from "./deploy-snapshot.js";
import { ResyncAudit, type Why } from "./resync-audit.js";
import { watchRound } from "./watch-round.js";

export interface DeployControllerOptions {
  store: Store;
  /** Unexpected errors (default: stderr). */
  log?: (line: string) => void;
  /** Progress lines for an app's log (source `deploy`). */
  appLog?: (app: string, line: string) => void;
  /**
   * Look at every app this often even without events (ms; default 10 s): a safety net only —
   * a reconcile that finds work this way is logged and counted as a bug (resync-audit.ts).
   */
  resyncMs?: number;
  /** Called for each reconcile that found work only because of the resync. */
  onResyncFind?: () => void;
  now?: () => number;
  /**
   * How long a node may be gone before its instances count as lost and start elsewhere (ms;
   * default NODE_LOST_MS, 3 s; `gantry server --node-grace`).
   */
  nodeGraceMs?: number;
}

/** What the controller did, and why. */
export interface DeployStats {
  /** Reconciles by what asked for them: events, planner wake-ups, the resync, (re)starts. */
  reconciles: Record<Why, number>;
  /** Reconciles that found work only because of the resync: each one is a bug. */
  resyncFinds: number;
}

export interface DeployController {
  /** Stop watching and wait for the reconcile in progress. */
  stop(): Promise<void>;
  stats(): DeployStats;
}

/** Prefixes whose changes can move a deploy along. */
const WATCHED = [
  K.apps,
  K.releases,
  K.deploys,
  K.scales,
  K.assignments,
  K.instances,
  K.catalog,
  K.health,
  K.nodes,
  K.drains,
] as const;

/** Transitions applied in one go for one app before others get a turn. */
const MAX_STEPS = 50;

export function startDeployController(opts: DeployControllerOptions): DeployController {
  const c = new Controller(opts);
  c.start();
  return c;
}

class Controller implements DeployController {
  private readonly store: Store;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly dirty = new Set<string>();
  /**
   * What this controller knows of each app: whether it exists, as of which revision (from its
   * own events and from listings). Events about apps that do not exist are not looked at.
   */
  private readonly apps = new Map<string, { exists: boolean; revision: number }>();
  private readonly timers = new Map<string, { at: number; timer: ReturnType<typeof setTimeout> }>();
  /** Nodes with assignments that are not live, and since when this controller has seen that. */
  private readonly downSince = new Map<string, number>();
  private readonly cancels: (() => void)[] = [];
  private stopped = false;
  /** Ends the watches, also ones still being opened when stop() came. */
  private readonly abort = new AbortController();
  private working: Promise<void> | undefined;
  private resync: ReturnType<typeof setInterval> | undefined;
  private readonly audit: ResyncAudit;

  constructor(private readonly opts: DeployControllerOptions) {
    this.store = opts.store;
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
    this.now = opts.now ?? Date.now;
    this.audit = new ResyncAudit(this.log, opts.onResyncFind);
  }

  start(): void {
    void this.watchAll();
    this.resync = setInterval(() => void this.markAll("resync"), this.opts.resyncMs ?? 10_000);
    this.resync.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.resync);
    for (const t of this.timers.values()) clearTimeout(t.timer);
    for (const cancel of this.cancels) cancel();
    this.audit.stop();
    await this.working;
  }

  stats(): DeployStats {
    return { reconciles: { ...this.audit.reconciles }, resyncFinds: this.audit.finds };
  }

  /**
   * Watch every prefix from one revision, then look at every app (what changed before the watch
   * began is seen that way). When any watch ends — compacted, failed, or closed — all start over
   * from now: a prefix left unwatched would only be noticed by the resync.
   */
  private async watchAll(): Promise<void> {
    while (!this.stopped) {
      const failed = await watchRound({
        store: this.store,
        prefixes: WATCHED,
        prevKv: true,
        cancels: this.cancels,
        signal: this.abort.signal,
        opened: async () => {
          // Without the listing, what changed before the watches began would wait for the resync.
          if (!(await this.markAll("start"))) throw new Error("could not list the apps");
        },
        onBatch: (batch) => {
          for (const e of batch) this.onEvent(e);
        },
      });
      if (this.stopped) return;
      if (failed instanceof CompactedError) continue;
      this.log(`deploy controller: watch: ${String(failed)}; watching again`);
      await sleep(500);
    }
  }

  private onEvent(e: WatchEvent): void {
    const key = e.kv.key;
    const rest = (prefix: string): string => key.slice(prefix.length);
    if (key.startsWith(K.nodes) || key.startsWith(K.drains)) {
      for (const app of this.known()) {
        this.audit.event(app, e.kv.modRevision);
        this.mark(app, "event");
      }
      return;
    }
    let app: string | undefined;
    if (key.startsWith(K.apps)) {
      app = rest(K.apps);
      this.apps.set(app, { exists: e.type === "put", revision: e.kv.modRevision });
    } else if (key.startsWith(K.deploys)) app = rest(K.deploys);
    else if (key.startsWith(K.scales)) app = rest(K.scales);
    else {
      // releases/<app>/…, catalog/<app>/…, health/<app>/… name the app; the others hold it.
      const named = [K.releases, K.catalog, K.health].find((p) => key.startsWith(p));
      app =
        named !== undefined
          ? rest(named).split("/")[0]
          : appOfValue(e.type === "put" ? e.kv.value : e.prevKv?.value);
    }
    if (app === undefined || this.apps.get(app)?.exists !== true) return;
    this.audit.event(app, e.kv.modRevision);
    this.mark(app, "event");
  }

  private *known(): Iterable<string> {
    for (const [app, { exists }] of this.apps) if (exists) yield app;
  }

  /**
   * Look at every app; false when they could not be listed. The listing is as of a revision that
   * events may have overtaken meanwhile: what they said since (an app created, or destroyed)
   * stands — dropping an app created meanwhile would leave its deploys to the resync.
   */
  private async markAll(why: Why): Promise<boolean> {
    let res;
    try {
      res = await this.store.range({ prefix: K.apps }, { keysOnly: true });
    } catch (err) {
      if (!this.stopped) this.log(`deploy controller: list apps: ${String(err)}`);
      return false;
    }
    const listed = new Set(res.kvs.map((kv) => kv.key.slice(K.apps.length)));
    for (const app of listed)
      if ((this.apps.get(app)?.revision ?? 0) <= res.revision)
        this.apps.set(app, { exists: true, revision: res.revision });
    for (const [app, seen] of this.apps)
      if (seen.revision <= res.revision && !listed.has(app)) this.apps.delete(app);
    for (const app of this.known()) this.mark(app, why);
    return true;
  }

  private mark(app: string, why: Why): void {
    if (this.stopped) return;
    this.audit.mark(app, why);
    this.dirty.add(app);
    this.work();
  }

  private work(): void {
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
      if (this.dirty.size > 0 && !this.stopped) this.work();
    });
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.dirty.size > 0 && !this.stopped) {
      const app = [...this.dirty][0]!;
      this.dirty.delete(app);
      const why = new Set(this.audit.take(app));
      // A wake-up already due (its timer not run yet: a busy event loop) asked for it too.
      if ((this.timers.get(app)?.at ?? Infinity) <= this.now()) why.add("wake");
      try {
        await this.reconcile(app, why);
      } catch (err) {
        if (this.stopped) return;
        this.log(`deploy controller: ${app}: ${err instanceof Error ? err.message : String(err)}`);
        this.wakeAt(app, this.now() + 1000);
      }
    }
  }

  /** Plan and apply until the planner waits (or the app had its share of steps). */
  private async reconcile(app: string, why: ReadonlySet<Why>): Promise<void> {
    for (let n = 0; n < MAX_STEPS && !this.stopped; n++) {
      const { snap, step, revision } = await this.snapshot(app);
      if (snap.app === undefined) this.audit.forget(app);
      const plan = planDeploy(snap, {
        suffix: idSuffix,
        ...(this.opts.nodeGraceMs === undefined ? {} : { nodeGraceMs: this.opts.nodeGraceMs }),
      });
      if (plan.transition === undefined) {
        if (plan.wakeAt !== undefined) this.wakeAt(app, plan.wakeAt);
        return;
      }
      if (await this.apply(app, step, plan.transition)) {
        if (n === 0) this.audit.applied(app, why, revision, plan.transition.summary);
        for (const line of plan.transition.events) this.opts.appLog?.(app, line);
      }
    }
    this.mark(app, "more");
  }

  private wakeAt(app: string, at: number): void {
    const cur = this.timers.get(app);
    if (cur !== undefined && cur.at <= at && cur.at > this.now()) return;
    if (cur !== undefined) clearTimeout(cur.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(app);
        this.mark(app, "wake");
      },
      Math.max(0, at - this.now()) + 5,
    );
    timer.unref();
    this.timers.set(app, { at, timer });
  }

  /** Everything the planner needs about one app, from one revision, and the app's step counter. */
  private async snapshot(app: string): Promise<Snapshot> {
    return readSnapshot(this.store, app, this.now, this.downSince);
  }

  /** One transaction; false when a compare failed (something changed: plan again). */
  private async apply(app: string, step: number, t: Transition): Promise<boolean> {
    const compares = new Map<string, Compare>();
    const guard = (key: string, value: number): void => {
      compares.set(key, { key, target: "modRevision", op: "==", value });
    };
    guard(deployStepKey(app), step);
    for (const g of t.guards) guard(g.key, g.modRevision);
    for (const p of t.puts) guard(p.key, p.expect);
    for (const d of t.deletes) if (d.expect !== undefined) guard(d.key, d.expect);
    const success: TxnOp[] = [
      ...t.puts.map((p): TxnOp => ({ type: "put", key: p.key, value: JSON.stringify(p.value) })),
      ...t.deletes.map(
        (d): TxnOp => ({ type: "delete", range: d.prefix === true ? { prefix: d.key } : d.key }),
      ),
      { type: "put", key: deployStepKey(app), value: t.summary },
    ];
    const res = await this.store.txn({ compare: [...compares.values()], success });
    return res.succeeded;
  }
}

/** The `app` field of an assignment or instance record. */
function appOfValue(value: Uint8Array | undefined): string | undefined {
  if (value === undefined || value.length === 0) return undefined;
  try {
    const app = (JSON.parse(text(value)) as { app?: unknown }).app;
    return typeof app === "string" ? app : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
