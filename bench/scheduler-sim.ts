/**
 * The simulated cluster of `npm run bench:scheduler` (bench/scheduler.ts): nodes with labels
 * (role, location) and capacity, and apps that ask for CPU and memory per instance, some with a
 * constraint (role=web) and a spread label (location).
 */
import type { Demand, NodeInfo } from "../src/scheduler/demand.js";

export const LOCATIONS = 5;

/** n nodes: 60 % role=web, 40 % role=batch; locations l0…l4; 64 CPUs, 256 GiB. */
export function simNodes(n: number, cpus = 64, memoryMb = 262_144): NodeInfo[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `node-${String(i).padStart(6, "0")}`,
    labels: { role: i % 5 < 3 ? "web" : "batch", location: `zone-${i % LOCATIONS}` },
    cpus,
    memoryMb,
  }));
}

/** App k: CPU 0.05–0.2, memory 64–256 MiB; every other app role=web and spread by location. */
export function simDemand(k: number): Demand {
  const constrained = k % 2 === 0;
  return {
    app: `app-${String(k).padStart(5, "0")}`,
    cpu: 0.05 * (1 + (k % 4)),
    memoryMb: 64 * (1 + (k % 4)),
    constraints: constrained ? [{ label: "role", value: "web" }] : [],
    ...(constrained ? { spread: "location" } : {}),
  };
}

const ARTIFACT = "0".repeat(64);
const CREATED = new Date(0).toISOString();

/** An assignment record as the deploy planner writes it (the store's value, as JSON). */
export function assignmentJson(app: string, index: number, node: string, cpu: number): string {
  return JSON.stringify({
    id: `${app}-v1-web-${index}-abcd`,
    app,
    release: 1,
    processType: "web",
    index,
    node,
    artifact: ARTIFACT,
    cpu,
    command: "node server.js",
    kind: "run",
    desired: "running",
    healthPath: "/",
    createdAt: CREATED,
  });
}
