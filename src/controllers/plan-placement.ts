/**
 * What the deploy planner hands the scheduler (src/scheduler/): the live nodes with their labels
 * and capacity, what the instances that stay reserve, and what the app's instances ask for.
 */
import type { App, Assignment } from "../model/app.js";
import type { NodeRecord } from "../model/node.js";
import { parseConstraint, type Demand, type NodeInfo, type Placed } from "../scheduler/demand.js";

const MIB = 1024 * 1024;

/** A node record as placement sees it: labels, CPUs, memory in MiB. */
export function nodeInfoOf(rec: NodeRecord): NodeInfo {
  return {
    name: rec.name,
    ...(rec.labels === undefined ? {} : { labels: rec.labels }),
    cpus: rec.facts.cpus,
    memoryMb: Math.floor(rec.facts.memory / MIB),
  };
}

/** An assignment that stays, with what it reserves (CPU, and its container's memory). */
export function placedOf(a: Assignment): Placed {
  return {
    node: a.node,
    app: a.app,
    ...(a.cpu === undefined ? {} : { cpu: a.cpu }),
    ...(a.container?.memoryMb === undefined ? {} : { memoryMb: a.container.memoryMb }),
  };
}

/** What each instance of the app asks for: its cpu, memory, constraints and spread settings. */
export function demandOf(app: App): Demand {
  return {
    app: app.name,
    cpu: app.cpu ?? 0,
    memoryMb: app.container?.memoryMb ?? 0,
    constraints: (app.constraints ?? []).flatMap((c) => parseConstraint(c) ?? []),
    ...(app.spread === undefined ? {} : { spread: app.spread }),
  };
}
