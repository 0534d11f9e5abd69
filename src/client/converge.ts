import type { NodeConverge, RunRecord, StatesBundle, StatesSummary } from "../model/converge.js";
import type { BlockingOptions, Indexed } from "./catalog.js";
import type { GantryClient } from "./client.js";
import { ApiError } from "./errors.js";

const seg = encodeURIComponent;

/** A node's converge settings as the API shows them (see src/api/routes/converge.ts). */
export interface NodeConvergeView extends NodeConverge {
  node: string;
  configured: boolean;
  statesHash?: string;
  /** The settings record's modRevision (0: not set). */
  modRevision: number;
}

/** Converge by agents: the states bundle, node roles and vars, and the runs agents report. */
export class ConvergeClient {
  constructor(readonly client: GantryClient) {}

  pushStates(
    files: Record<string, string>,
  ): Promise<{ hash: string; files: number; revision: number }> {
    return this.client.json("PUT", "/v1/states", { body: { files } });
  }

  /** The pushed states' summary, or undefined when none were pushed. */
  async states(): Promise<StatesSummary | undefined> {
    return notFoundAsUndefined(() => this.client.json<StatesSummary>("GET", "/v1/states"));
  }

  /** The pushed states with their files, or undefined when none were pushed. */
  async bundle(
    signal?: AbortSignal,
  ): Promise<(StatesBundle & { modRevision: number }) | undefined> {
    return notFoundAsUndefined(() =>
      this.client.json<StatesBundle & { modRevision: number }>("GET", "/v1/states", {
        query: { content: true },
        ...(signal ? { signal } : {}),
      }),
    );
  }

  /** A node's settings; with `index`, waits (at most `wait`) for them or the states to change. */
  async node(node: string, opts: BlockingOptions = {}): Promise<Indexed<NodeConvergeView>> {
    const res = await this.client.request("GET", `/v1/nodes/${seg(node)}/converge`, {
      query: { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const value = (await res.json()) as NodeConvergeView;
    return { index: Number(res.headers.get("x-gantry-index") ?? 0), value };
  }

  /** Every node's settings the token may read, with their records' modRevisions. */
  nodes(): Promise<(NodeConverge & { node: string; modRevision: number })[]> {
    return this.client.json("GET", "/v1/converge/nodes");
  }

  setNode(node: string, settings: Partial<NodeConverge>): Promise<NodeConverge & { node: string }> {
    return this.client.json("PUT", `/v1/nodes/${seg(node)}/converge`, { body: settings });
  }

  unsetNode(node: string): Promise<{ revision: number }> {
    return this.client.json("DELETE", `/v1/nodes/${seg(node)}/converge`);
  }

  reportRun(run: RunRecord, signal?: AbortSignal): Promise<{ revision: number }> {
    return this.client.json("POST", `/v1/nodes/${seg(run.node)}/converge/runs`, {
      body: run,
      ...(signal ? { signal } : {}),
    });
  }

  /** A node's last runs, newest first. */
  runs(node: string): Promise<RunRecord[]> {
    return this.client.json("GET", `/v1/nodes/${seg(node)}/converge/runs`);
  }

  /** The last run of every node. */
  lastRuns(): Promise<RunRecord[]> {
    return this.client.json("GET", "/v1/converge/runs");
  }
}

async function notFoundAsUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
