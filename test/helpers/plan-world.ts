/**
 * A tiny world for the deploy planner's unit tests (src/controllers/*.test.ts): records with
 * revisions, standing in for the Store, and the helpers that build apps and releases in it.
 */
import { expect } from "vitest";
import { appKey, deployKey, scaleKey } from "../../src/apps/keys.js";
import {
  releaseKey,
  type App,
  type Assignment,
  type Deploy,
  type InstanceStatus,
  type Release,
  type Scale,
} from "../../src/model/app.js";
import {
  planDeploy,
  type DeploySnapshot,
  type InstanceHealth,
  type Plan,
  type Transition,
  type Versioned,
} from "../../src/controllers/deploy-plan.js";

export const T0 = Date.parse("2030-01-01T00:00:00.000Z");
export const ART = "a".repeat(64);
export const ART2 = "b".repeat(64);

/**
 * A tiny world of records with revisions, standing in for the Store: the planner's transitions
 * are applied to it (refused when an expected modRevision is stale), and snapshots are read back.
 */
export class World {
  rev = 1;
  records = new Map<string, Versioned<unknown>>();
  instances = new Map<string, InstanceStatus>();
  health = new Map<string, InstanceHealth>();
  nodes = ["node-a", "node-b"];
  downSince = new Map<string, number>();
  draining = new Set<string>();
  deleted: string[] = [];
  now = T0;
  /** The controller's --node-grace (ms); undefined: the default, NODE_LOST_MS. */
  graceMs: number | undefined;
  private n = 0;

  put(key: string, value: unknown): void {
    this.records.set(key, { value: structuredClone(value), modRevision: ++this.rev });
  }

  get<T>(key: string): T | undefined {
    return this.records.get(key)?.value as T | undefined;
  }

  private under<T>(prefix: string): Versioned<T>[] {
    return [...this.records]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v as Versioned<T>);
  }

  assignments(): Assignment[] {
    return this.under<Assignment>("assignments/").map((v) => v.value);
  }

  snapshot(app = "hello"): DeploySnapshot {
    return {
      now: this.now,
      app: this.records.get(appKey(app)) as Versioned<App> | undefined,
      releases: this.under<Release>(`releases/${app}/`),
      deploy: this.records.get(deployKey(app)) as Versioned<Deploy> | undefined,
      scale: this.records.get(scaleKey(app)) as Versioned<Scale> | undefined,
      assignments: this.under<Assignment>("assignments/").filter((a) => a.value.app === app),
      instances: this.instances,
      health: this.health,
      nodes: this.nodes,
      downSince: this.downSince,
      draining: this.draining,
      others: [],
    };
  }

  plan(): Plan {
    return planDeploy(this.snapshot(), {
      suffix: () => `s${String(++this.n).padStart(3, "0")}`,
      ...(this.graceMs === undefined ? {} : { nodeGraceMs: this.graceMs }),
    });
  }

  apply(t: Transition): void {
    const stale = [...t.puts, ...t.deletes].find(
      (w) => w.expect !== undefined && (this.records.get(w.key)?.modRevision ?? 0) !== w.expect,
    );
    const staleGuard = t.guards.find(
      (g) => (this.records.get(g.key)?.modRevision ?? 0) !== g.modRevision,
    );
    if (stale !== undefined || staleGuard !== undefined) throw new Error("stale transition");
    this.rev++;
    for (const p of t.puts)
      this.records.set(p.key, { value: structuredClone(p.value), modRevision: this.rev });
    for (const d of t.deletes) {
      this.records.delete(d.key);
      this.deleted.push(d.key);
    }
  }

  /** Plan and apply until the planner waits; the transitions' summaries. */
  settle(): string[] {
    const done: string[] = [];
    for (let i = 0; i < 20; i++) {
      const p = this.plan();
      if (p.transition === undefined) return done;
      this.apply(p.transition);
      done.push(p.transition.summary);
    }
    throw new Error(`no fixpoint: ${done.join("; ")}`);
  }

  /** The agent's part: an instance reports a state; web ones pass (or fail) their check. */
  report(a: Assignment, state: InstanceStatus["state"], extra: Partial<InstanceStatus> = {}): void {
    this.instances.set(a.id, {
      id: a.id,
      app: a.app,
      release: a.release,
      processType: a.processType,
      index: a.index,
      node: a.node,
      state,
      restarts: 0,
      lastOutput: [],
      updatedAt: new Date(this.now).toISOString(),
      startedAt: new Date(this.now).toISOString(),
      ...extra,
    });
  }

  pass(a: Assignment, status: InstanceHealth["status"] = "passing", output = ""): void {
    this.health.set(a.id, { status, output });
  }
}

export function newApp(w: World, over: Partial<App> = {}): App {
  const app: App = {
    name: "hello",
    createdAt: new Date(T0).toISOString(),
    createdBy: "test",
    domains: [],
    formation: {},
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 5000,
    currentRelease: 0,
    ...over,
  };
  w.put(appKey("hello"), app);
  return app;
}

export function newRelease(w: World, version: number, over: Partial<Release> = {}): Release {
  const rel: Release = {
    app: "hello",
    version,
    artifact: ART,
    processTypes: { web: "node server.js" },
    configVersion: 1,
    config: {},
    description: `release ${version}`,
    createdAt: new Date(w.now).toISOString(),
    createdBy: "test",
    status: "pending",
    ...over,
  };
  w.put(releaseKey("hello", version), rel);
  return rel;
}

export const release = (w: World, v: number): Release => w.get<Release>(releaseKey("hello", v))!;
export const app = (w: World): App => w.get<App>(appKey("hello"))!;
export const deploy = (w: World): Deploy => w.get<Deploy>(deployKey("hello"))!;
/** Assignment ids, sorted: the same instances, whatever their order. */
export const ids = (list: Assignment[]): string[] => list.map((a) => a.id).sort();
export const ofRelease = (w: World, v: number): Assignment[] =>
  w.assignments().filter((a) => a.release === v);

/** Every instance of release `v` runs and passes; a second on, its deploy has ended. */
export function allPass(w: World, v: number): void {
  for (const a of ofRelease(w, v)) {
    w.report(a, "running");
    w.pass(a);
  }
  w.now += 1000;
  w.settle();
}

/** A world where v1 (web=2) is live and serving. */
export function live(w: World, formation: App["formation"] = { web: 2 }): Assignment[] {
  newApp(w, { formation });
  newRelease(w, 1, { processTypes: { web: "node server.js", worker: "node worker.js" } });
  w.settle();
  allPass(w, 1);
  expect(app(w).currentRelease).toBe(1);
  return ofRelease(w, 1);
}
