/**
 * The pool controller's brain (docs/pools.md, "The pool controller"): from what the provider
 * lists, the controller's node records and the nodes' liveness, the next actions for one pool
 * and its status. Pure: no clock, no store, no provider — every rule of issue 14 is a table test.
 *
 * Order of business: a deleted pool with nothing left goes → retiring nodes whose instances have
 * moved are destroyed → a node waiting to be (re)created is created → one unhealthy node is
 * repaired (destroyed, then created with its instance number) unless more than maxUnhealthy are
 * → the pool is scaled (lowest free numbers up, highest numbers drained down) → one stale node
 * is replaced (a surge node first, the old one drained once the surge is ready).
 */
import { parseDuration } from "../model/duration.js";
import { desiredSize, type PoolNodePhase, type PoolNodeStatus } from "../model/pool.js";
import { addressFromPattern, maxInstanceOfPattern } from "../pools/address-plan.js";
import type { PoolNode } from "../pools/provider.js";
import type {
  PoolAction,
  PoolNodeRecord,
  PoolPlan,
  PlanOptions,
  PoolWorld,
} from "./pools-types.js";

export type * from "./pools-types.js";

/** Backoff after the n-th failed create in a row: 1 s doubling to 5 min. */
export const backoffMs = (attempts: number): number =>
  Math.min(1000 * 2 ** Math.max(0, attempts - 1), 300_000);

/**
 * How many unhealthy nodes a pool of `size` repairs: a count, or a percentage rounded down (as
 * Cluster API's maxUnhealthy: with 40%, two of four nodes down is more than 40% and halts) but
 * at least one unless it is 0% — else a small pool could never repair a single node.
 */
export function unhealthyAllowance(max: number | string, size: number): number {
  if (typeof max === "number") return max;
  const pct = Number(max.slice(0, -1));
  if (pct === 0) return 0;
  return Math.max(1, Math.floor((size * pct) / 100));
}

interface View {
  rec: PoolNodeRecord;
  machine?: PoolNode;
  phase: PoolNodePhase;
  reason?: string;
}

const secs = (ms: number): string => `${Math.round(ms / 1000)}s`;

export function planPool(w: PoolWorld, opts: PlanOptions = {}): PoolPlan {
  return new Planner(w, opts).plan();
}

class Planner {
  private readonly spec;
  private readonly desired: number;
  private readonly views: View[];
  private readonly wakes: number[] = [];
  private readonly actions: PoolAction[] = [];
  private readonly busy = new Set<string>();
  private halted: string | undefined;

  constructor(
    private readonly w: PoolWorld,
    private readonly opts: PlanOptions,
  ) {
    this.spec = w.record.spec;
    this.desired = w.record.deletedAt === undefined ? desiredSize(w.record) : 0;
    this.views = this.book().map((v) => this.judge(v));
    for (const n of w.inFlight) this.busy.add(n);
  }

  plan(): PoolPlan {
    if (this.w.record.deletedAt !== undefined && this.views.length === 0)
      this.actions.push({ kind: "deletePool" });
    else {
      this.destroyRetired();
      const members = this.members();
      this.scaleDown(members);
      this.recreate(members);
      this.repair(members);
      this.scaleUp(members);
      this.roll(members);
    }
    const future = this.wakes.filter((t) => t > this.w.now);
    return {
      actions: this.actions,
      status: this.status(),
      ...(future.length === 0 ? {} : { wakeAt: Math.min(...future) }),
    };
  }

  /** Every node a record or a machine knows of; a machine without a record is taken as made now. */
  private book(): { rec: PoolNodeRecord; machine?: PoolNode }[] {
    const machines = new Map(this.w.machines.map((m) => [m.name, m]));
    const out = this.w.nodes.map((rec) => {
      const machine = machines.get(rec.name);
      machines.delete(rec.name);
      return machine === undefined ? { rec } : { rec, machine };
    });
    for (const m of machines.values())
      out.push({
        machine: m,
        rec: {
          name: m.name,
          pool: m.pool,
          instance: m.instance,
          address: m.address,
          settingsHash: this.w.record.settingsHash,
          createdAt: m.createdAt,
          ...(this.w.live.has(m.name) ? { joinedAt: m.createdAt } : {}),
        },
      });
    return out.sort((a, b) => a.rec.instance - b.rec.instance);
  }

  /** A node's phase, from its machine and its agent's liveness. */
  private judge(v: { rec: PoolNodeRecord; machine?: PoolNode }): View {
    const { rec, machine } = v;
    const name = rec.name;
    const pending = rec.repairing ? "repairing" : "joining";
    if (rec.retiring !== undefined) return { ...v, phase: "draining", reason: rec.retiring.reason };
    if (machine === undefined)
      return this.w.inFlight.has(name)
        ? { ...v, phase: pending, reason: "creating" }
        : { ...v, phase: pending, reason: "waiting to be created" };
    if (machine.state === "stopped") return { ...v, phase: "unhealthy", reason: "machine stopped" };
    if (this.w.live.has(name)) {
      if (this.spec.roles.length > 0 && !this.w.converged.has(name))
        return { ...v, phase: pending, reason: "converging" };
      return { ...v, phase: "ready" };
    }
    const now = this.w.now;
    if (rec.joinedAt !== undefined) {
      const repairAfter = parseDuration(this.spec.repairAfter) ?? 60_000;
      const since = this.w.downSince.get(name) ?? now;
      if (now - since >= repairAfter)
        return { ...v, phase: "unhealthy", reason: `down for ${secs(now - since)}` };
      this.wakes.push(since + repairAfter);
      return { ...v, phase: "down", reason: `down for ${secs(now - since)}` };
    }
    const startTimeout = parseDuration(this.spec.startTimeout) ?? 600_000;
    const started = Date.parse(machine.createdAt);
    if (now - started >= startTimeout)
      return { ...v, phase: "unhealthy", reason: `not joined within ${this.spec.startTimeout}` };
    this.wakes.push(started + startTimeout);
    return { ...v, phase: pending, reason: "not joined yet" };
  }

  /** Retiring nodes go once their instances have moved, their agent is gone, or time is up. */
  private destroyRetired(): void {
    const timeout = this.opts.drainTimeoutMs ?? 300_000;
    for (const v of this.views) {
      const r = v.rec.retiring;
      if (r === undefined || this.busy.has(v.rec.name)) continue;
      const deadline = Date.parse(r.since) + timeout;
      const name = v.rec.name;
      if (v.machine === undefined || !this.w.live.has(name) || !this.w.busy.has(name)) {
        this.act({ kind: "destroy", node: name, repair: false, reason: r.reason });
      } else if (this.w.now >= deadline) {
        this.act({
          kind: "destroy",
          node: name,
          repair: false,
          reason: `${r.reason} (drain timed out)`,
        });
      } else this.wakes.push(deadline);
    }
  }

  /** The pool's members: not retiring, and not an old node whose surge has started. */
  private members(): View[] {
    const staying = this.views.filter((v) => v.rec.retiring === undefined);
    const replaced = new Set(staying.flatMap((v) => this.replacing(v)?.rec.name ?? []));
    return staying.filter((v) => !replaced.has(v.rec.name));
  }

  /**
   * The node a surge node is replacing while that one is still in the pool. A node made later
   * under the old one's name (its number freed) is not it.
   */
  private replacing(v: View): View | undefined {
    const name = v.rec.surgeFor;
    if (name === undefined || v.rec.retiring !== undefined) return undefined;
    return this.views.find(
      (o) =>
        o.rec.name === name &&
        o.rec.retiring === undefined &&
        Date.parse(o.rec.createdAt) <= Date.parse(v.rec.createdAt),
    );
  }

  /** Whether a create may start now (not backing off after a failure); else when it may. */
  private mayCreate(): boolean {
    const f = this.w.failure;
    if (f === undefined) return true;
    const at = f.at + backoffMs(f.attempts);
    if (this.w.now >= at) return true;
    this.wakes.push(at);
    return false;
  }

  /** A record without its machine, and no create under way: an interrupted or failed create. */
  private recreate(members: View[]): void {
    for (const v of members) {
      if (v.machine !== undefined || this.busy.has(v.rec.name)) continue;
      if (!this.mayCreate()) return;
      this.act({
        kind: "create",
        node: v.rec.name,
        instance: v.rec.instance,
        address: v.rec.address,
        why: v.rec.repairing ? "repair" : "retry",
        ...(v.rec.surgeFor === undefined ? {} : { surgeFor: v.rec.surgeFor }),
      });
    }
  }

  /** One unhealthy node at a time is destroyed to be created again, unless too many are. */
  private repair(members: View[]): void {
    const unhealthy = members.filter((v) => v.phase === "unhealthy");
    if (unhealthy.length === 0) return;
    const allowed = unhealthyAllowance(this.spec.maxUnhealthy, this.desired);
    if (unhealthy.length > allowed) {
      const max = this.spec.maxUnhealthy;
      this.halted = `${unhealthy.length} of ${this.desired} nodes unhealthy (more than maxUnhealthy ${max}): not repairing — a network partition must not destroy the fleet`;
      return;
    }
    // One at a time: the node being repaired has not joined again yet.
    if (members.some((v) => v.phase === "repairing")) return;
    const v = unhealthy.find((u) => !this.busy.has(u.rec.name));
    if (v === undefined) return;
    this.act({ kind: "destroy", node: v.rec.name, repair: true, reason: v.reason ?? "unhealthy" });
  }

  /** Down: the highest numbers go, drained first (one being created is drained once it is). */
  private scaleDown(members: View[]): void {
    if (members.length <= this.desired) return;
    const surplus = [...members].sort((a, b) => b.rec.instance - a.rec.instance);
    for (const v of surplus.slice(0, members.length - this.desired)) {
      if (this.busy.has(v.rec.name)) continue;
      const reason = this.w.record.deletedAt === undefined ? "scaled down" : "pool deleted";
      this.act({ kind: "drain", node: v.rec.name, reason });
    }
  }

  /** Up: the lowest free numbers, several at once. */
  private scaleUp(members: View[]): void {
    const creating = this.views.filter((v) => v.machine === undefined && this.busy.has(v.rec.name));
    const room = (this.opts.parallelCreates ?? 10) - creating.length;
    const need = Math.min(this.desired - members.length, room);
    if (need <= 0 || !this.mayCreate()) return;
    for (const instance of this.freeInstances(need)) this.create(instance, "scale up");
  }

  /**
   * Rolling replacement, one node at a time and only in a settled pool: a node made with other
   * settings, or named by `pools:replace`, gets a surge node; once that is ready it is drained.
   */
  private roll(members: View[]): void {
    const surge = this.views.find((v) => this.replacing(v) !== undefined);
    if (surge !== undefined) {
      const old = surge.rec.surgeFor!;
      if (surge.phase === "ready") {
        if (!this.busy.has(old))
          this.act({ kind: "drain", node: old, reason: `replaced by ${surge.rec.name}` });
      } else if (surge.phase === "unhealthy" || (surge.machine === undefined && this.w.failure))
        this.halted ??= `rolling replacement paused: ${surge.rec.name} (replacing ${old}) is ${surge.phase === "unhealthy" ? `unhealthy: ${surge.reason}` : `not created: ${this.w.failure!.message}`}`;
      return;
    }
    const settled =
      this.halted === undefined &&
      members.length === this.desired &&
      this.actions.length === 0 &&
      this.views.every((v) => v.rec.retiring === undefined && !this.busy.has(v.rec.name)) &&
      members.every((v) => v.phase === "ready");
    if (!settled) return;
    const stale = members.find((v) => this.stale(v.rec));
    if (stale === undefined || !this.mayCreate()) return;
    const [instance] = this.freeInstances(1);
    if (instance !== undefined) this.create(instance, "surge", stale.rec.name);
  }

  private stale(rec: PoolNodeRecord): boolean {
    if (rec.settingsHash !== this.w.record.settingsHash) return true;
    const r = this.w.record.replace;
    if (r === undefined || !r.nodes.includes(rec.name)) return false;
    return Date.parse(rec.createdAt) < Date.parse(r.requestedAt);
  }

  /** The lowest instance numbers no node of the pool holds (retiring ones still hold theirs). */
  private freeInstances(count: number): number[] {
    const used = new Set(this.views.map((v) => v.rec.instance));
    const out: number[] = [];
    const max = maxInstanceOfPattern(this.w.record.addressPattern);
    for (let n = 1; n <= max && out.length < count; n++) if (!used.has(n)) out.push(n);
    if (out.length < count)
      this.halted ??= `no free instance number left on the address plan (1-${max} all in use)`;
    return out;
  }

  private create(instance: number, why: "scale up" | "surge", surgeFor?: string): void {
    const pool = this.w.record.name;
    this.act({
      kind: "create",
      node: `${pool}-${instance}`,
      instance,
      address: addressFromPattern(this.w.record.addressPattern, instance),
      why,
      ...(surgeFor === undefined ? {} : { surgeFor }),
    });
  }

  private act(a: PoolAction): void {
    if (a.kind !== "deletePool") this.busy.add(a.node);
    this.actions.push(a);
  }

  private status(): PoolPlan["status"] {
    const nodes = this.views.map(
      (v): PoolNodeStatus => ({
        name: v.rec.name,
        instance: v.rec.instance,
        address: v.rec.address,
        phase: v.phase,
        ...(v.reason === undefined ? {} : { reason: v.reason }),
        createdAt: v.machine?.createdAt ?? v.rec.createdAt,
      }),
    );
    const count = (p: PoolNodePhase): number => nodes.filter((n) => n.phase === p).length;
    return {
      name: this.w.record.name,
      desired: this.desired,
      ready: count("ready"),
      joining: count("joining"),
      repairing: count("repairing"),
      unhealthy: count("unhealthy"),
      nodes,
      ...(this.halted === undefined ? {} : { halted: this.halted }),
    };
  }
}
