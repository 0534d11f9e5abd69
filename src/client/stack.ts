import type { AppView, ReleaseView } from "../model/app-views.js";
import type { AppConfig, Build } from "../model/app.js";
import type { OwnershipBatch, OwnershipInput, OwnershipRecord, StackInfo } from "../model/stack.js";
import type { GantryClient } from "./client.js";
import { ApiError } from "./errors.js";

const itemPath = (kind: string, name: string): string =>
  `/v1/stack/items/${encodeURIComponent(kind)}/${name.split("/").map(encodeURIComponent).join("/")}`;

/** What a plan reads of one app (`GET /v1/stack/apps`): as the single-app routes answer. */
export interface StackAppRead {
  app: AppView;
  config: Pick<AppConfig, "version" | "values"> & { modRevision: number };
  /** Newest first, at most 50. */
  builds: Build[];
  releases: ReleaseView[];
}

/** The stack's records over the API: ownership of items, and the stack's status. */
export class StackClient {
  constructor(readonly client: GantryClient) {}

  /** Every ownership record (with its modRevision), and the store revision it was read at. */
  async items(): Promise<{ revision: number; items: OwnershipRecord[] }> {
    const res = await this.client.request("GET", "/v1/stack/items");
    const items = (await res.json()) as OwnershipRecord[];
    return { revision: Number(res.headers.get("x-gantry-index") ?? 0), items };
  }

  /** These apps (those that exist), each with its config, newest builds and releases. */
  apps(names: readonly string[]): Promise<StackAppRead[]> {
    return this.client.json("GET", "/v1/stack/apps", { query: { names: names.join(",") } });
  }

  async item(kind: string, name: string): Promise<OwnershipRecord | undefined> {
    try {
      return await this.client.json<OwnershipRecord>("GET", itemPath(kind, name));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  putItem(record: OwnershipInput): Promise<OwnershipRecord> {
    return this.client.json("PUT", itemPath(record.kind, record.name), { body: record });
  }

  /** Write and remove records in one request (in as few transactions as they fit). */
  batch(batch: OwnershipBatch): Promise<{ revision: number; put: number; deleted: number }> {
    return this.client.json("POST", "/v1/stack/items", { body: batch });
  }

  /** Stop managing an item (`stack:forget`); the item itself stays. 404 when not managed. */
  forget(kind: string, name: string): Promise<OwnershipRecord> {
    return this.client.json("DELETE", itemPath(kind, name));
  }

  info(): Promise<StackInfo> {
    return this.client.json("GET", "/v1/stack/info");
  }

  /** Set fields of `stack/info` (null removes one); answers the record as it now is. */
  updateInfo(patch: Partial<Record<keyof StackInfo, unknown>>): Promise<StackInfo> {
    return this.client.json("PUT", "/v1/stack/info", { body: patch });
  }
}
