/**
 * What the overview, apps, nodes and services pages read from the API (mirrors of the server's
 * answers: src/apps/app-status.ts, src/model/node.ts, src/catalog/filter.ts, src/model/service.ts).
 */
import type { PsEntry } from "../../../src/model/app-views.js";

export type AppState =
  | "new"
  | "deploying"
  | "crashed"
  | "failed"
  | "stopped"
  | "starting"
  | "running";

/** `GET /v1/apps?status`, one entry. */
export interface AppRow {
  name: string;
  url: string;
  currentRelease: number;
  createdAt: string;
  status?: {
    state: AppState;
    running: number;
    desired: number;
    deploy?: {
      release: number;
      status: "running" | "succeeded" | "failed";
      startedAt: string;
      finishedAt?: string;
    };
  };
}

export interface NodeFacts {
  hostname: string;
  cpus: number;
  memory: number;
  addresses: string[];
  os?: string;
  arch?: string;
}

/** `GET /v1/nodes?all`, one entry (a down node has no facts). */
export interface NodeRow {
  name: string;
  status: "ready" | "draining" | "down";
  instances: number;
  draining?: true;
  labels?: Record<string, string>;
  facts?: NodeFacts;
  ttl?: number;
  joinedAt?: string;
  lease?: string;
}

/** One instance as `ps` shows it, with its app (`GET /v1/nodes/:name?instances`). */
export type NodeInstance = PsEntry & { app: string };

/** `GET /v1/nodes/:name?instances`. */
export type NodeDetail = NodeRow & { assigned: NodeInstance[] };

export interface FailingCheck {
  instance: string;
  node: string;
  check: string;
  name: string;
  status: string;
  output: string;
  since?: string;
}

/** `GET /v1/catalog/services?checks`, one entry. */
export interface ServiceRow {
  name: string;
  tags: string[];
  instances: number;
  passing: number;
  failing: FailingCheck[];
}

/** `GET /v1/catalog/service/:name`, one instance. */
export interface ServiceInstance {
  service: string;
  id: string;
  node: string;
  address?: string;
  port?: number;
  tags: string[];
  status: string;
  checks: {
    id: string;
    name: string;
    type: string;
    status: string;
    output: string;
    since?: string;
  }[];
}

/** A node's pool and address (a pool node's join labels), as `gantry nodes` shows them. */
export const poolOf = (n: NodeRow): string | undefined => n.labels?.["pool"];
export const addressOf = (n: NodeRow): string | undefined =>
  n.labels?.["address"] ?? n.facts?.addresses[0];

/** The labels other than pool and address, as `k=v` words. */
export const otherLabels = (n: NodeRow): string[] =>
  Object.entries(n.labels ?? {})
    .filter(([k]) => k !== "pool" && k !== "address")
    .map(([k, v]) => `${k}=${v}`);

export const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
