import type { Assignment, InstanceStatus } from "../model/app.js";
import type { BlockingOptions, Indexed } from "./catalog.js";
import type { GantryClient } from "./client.js";

const seg = encodeURIComponent;

/** One line of an instance's output, as shipped to `POST /v1/apps/:app/logs`. */
export interface LogLine {
  /** ISO 8601, when the agent read it. */
  time: string;
  /** `web.1`, `worker.2`, `run.3`… */
  source: string;
  line: string;
}

/** The agent's side of the apps API (see docs/apps.md): its node's work and what it reports. */
export class AgentWorkClient {
  constructor(readonly client: GantryClient) {}

  /** The node's assignments; with `index`, waits (at most `wait`) for a change after it. */
  async assignments(node: string, opts: BlockingOptions = {}): Promise<Indexed<Assignment[]>> {
    const res = await this.client.request("GET", `/v1/nodes/${seg(node)}/assignments`, {
      query: { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const value = (await res.json()) as Assignment[];
    return { index: Number(res.headers.get("x-gantry-index") ?? 0), value };
  }

  /** An assignment's environment: its release's config, decrypted. */
  async env(node: string, id: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const res = await this.client.json<{ env: Record<string, string> }>(
      "GET",
      `/v1/nodes/${seg(node)}/assignments/${seg(id)}/env`,
      signal ? { signal } : {},
    );
    return res.env;
  }

  /** The artifact's bytes as a stream (`.tar.gz`). */
  async artifact(sha: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const res = await this.client.request("GET", `/v1/artifacts/${seg(sha)}`, {
      stream: true,
      ...(signal ? { signal } : {}),
    });
    if (res.body === null) throw new Error(`artifact ${sha}: empty answer`);
    return res.body;
  }

  reportInstance(status: InstanceStatus, signal?: AbortSignal): Promise<{ revision: number }> {
    return this.client.json("PUT", `/v1/instances/${seg(status.id)}`, {
      body: status,
      ...(signal ? { signal } : {}),
    });
  }

  deleteInstance(id: string): Promise<{ revision: number }> {
    return this.client.json("DELETE", `/v1/instances/${seg(id)}`);
  }

  shipLogs(app: string, lines: LogLine[], signal?: AbortSignal): Promise<unknown> {
    return this.client.json("POST", `/v1/apps/${seg(app)}/logs`, {
      body: { lines },
      ...(signal ? { signal } : {}),
    });
  }
}
