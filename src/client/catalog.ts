import type {
  HealthRecord,
  HealthReport,
  InstanceView,
  NodeInstanceView,
  ServiceInstance,
  ServiceRegistration,
  ServiceSummary,
} from "../model/service.js";
import type { NodeFacts, NodeListEntry, NodeView } from "../model/node.js";
import type { GantryClient } from "./client.js";
import { ApiError } from "./errors.js";

/** A blocking read: wait for a change after `index` (an X-Gantry-Index), at most `wait` ("30s"). */
export interface BlockingOptions {
  index?: number;
  wait?: string;
  signal?: AbortSignal;
}

/** An answer and the revision it reflects: pass it as the next `index` to wait for a change. */
export interface Indexed<T> {
  index: number;
  value: T;
}

/** A registration as sent: ids and lists may be left out (the server fills them in). */
export type RegistrationInput = Omit<ServiceRegistration, "id" | "tags" | "meta" | "checks"> &
  Partial<Pick<ServiceRegistration, "id" | "tags" | "meta" | "checks">>;

const seg = encodeURIComponent;

/** The service catalog, health and node API: used by the CLI, the agent and the template engine. */
export class CatalogClient {
  constructor(readonly client: GantryClient) {}

  private async indexed<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    opts: BlockingOptions,
  ): Promise<Indexed<T>> {
    const res = await this.client.request("GET", path, {
      query: {
        ...query,
        index: opts.index,
        wait: opts.index === undefined ? undefined : opts.wait,
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const value = (await res.json()) as T;
    return { index: Number(res.headers.get("x-gantry-index") ?? 0), value };
  }

  register(reg: RegistrationInput): Promise<{ revision: number; instance: ServiceInstance }> {
    return this.client.json("PUT", "/v1/catalog/register", { body: reg });
  }

  deregister(service: string, id: string): Promise<{ revision: number }> {
    return this.client.json("DELETE", `/v1/catalog/deregister/${seg(service)}/${seg(id)}`);
  }

  services(opts: BlockingOptions = {}): Promise<Indexed<ServiceSummary[]>> {
    return this.indexed("/v1/catalog/services", {}, opts);
  }

  /** Instances of a service with their health; `passing` keeps only the passing ones. */
  service(
    name: string,
    opts: BlockingOptions & { passing?: boolean; tag?: string } = {},
  ): Promise<Indexed<InstanceView[]>> {
    return this.indexed(
      `/v1/catalog/service/${seg(name)}`,
      { passing: opts.passing, tag: opts.tag },
      opts,
    );
  }

  /** What an agent runs: the instances on its node, with check definitions and results. */
  nodeInstances(node: string, opts: BlockingOptions = {}): Promise<Indexed<NodeInstanceView[]>> {
    return this.indexed(`/v1/catalog/node/${seg(node)}`, {}, opts);
  }

  /** Report a check result; stored only when it changed. `cas: 0` writes only if there is none. */
  reportHealth(
    service: string,
    id: string,
    checkId: string,
    report: HealthReport,
    opts: { cas?: number; signal?: AbortSignal } = {},
  ): Promise<{ changed: boolean; revision: number; record: HealthRecord }> {
    return this.client.json("PUT", `/v1/health/${seg(service)}/${seg(id)}/${seg(checkId)}`, {
      body: report,
      query: { cas: opts.cas },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  /** Refresh a TTL check (pass, warn or fail), with an optional note as its output. */
  updateTtl(
    service: string,
    id: string,
    checkId: string,
    action: "pass" | "warn" | "fail",
    note?: string,
  ): Promise<{ changed: boolean; revision: number; record: HealthRecord }> {
    return this.client.json(
      "PUT",
      `/v1/checks/${seg(service)}/${seg(id)}/${seg(checkId)}/${action}`,
      {
        ...(note === undefined ? {} : { body: { note } }),
      },
    );
  }

  // --- nodes -------------------------------------------------------------------------------

  joinNode(
    name: string,
    facts: NodeFacts,
    ttl?: number,
  ): Promise<{ name: string; lease: string; ttl: number }> {
    return this.client.json("PUT", `/v1/nodes/${seg(name)}`, {
      body: { facts, ...(ttl === undefined ? {} : { ttl }) },
    });
  }

  /** Keep the node alive; false when it has to join again (its lease is gone). */
  async heartbeat(name: string, lease: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.request("PUT", `/v1/nodes/${seg(name)}/heartbeat`, {
        query: { lease },
        ...(signal ? { signal } : {}),
      });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }

  leaveNode(name: string, lease?: string): Promise<{ revision: number }> {
    return this.client.json("DELETE", `/v1/nodes/${seg(name)}`, { query: { lease } });
  }

  nodes(): Promise<NodeView[]> {
    return this.client.json("GET", "/v1/nodes");
  }

  /** Drain a node (or, with `undo`, stop draining it); `already` when nothing changed. */
  drainNode(name: string, undo = false): Promise<{ draining: boolean; already: boolean }> {
    return this.client.json(undo ? "DELETE" : "PUT", `/v1/nodes/${seg(name)}/drain`);
  }

  /** Live nodes with their instance counts, and the nodes that are down. */
  nodeList(): Promise<NodeListEntry[]> {
    return this.client.json("GET", "/v1/nodes", { query: { all: true } });
  }
}
