import type { PipelineStatus } from "../apps/pipeline-status.js";
import type { PromoteAnswer } from "../apps/promote.js";
import type { Stage } from "../model/pipeline.js";
import type { GantryClient } from "./client.js";

const seg = encodeURIComponent;

/** What `pipelines:create` sends (src/api/routes/pipelines.ts). */
export interface PipelineCreate {
  name: string;
  stages: Stage[];
  reviewApps?: { enabled?: boolean; staleAfterMs?: number; config?: Record<string, string> };
  requireTests?: boolean;
  requiredConfig?: string[];
}

/** What `pipelines:update` sends: fields given replace; review config merges (null removes). */
export interface PipelineUpdate {
  stages?: Stage[];
  reviewApps?: {
    enabled?: boolean;
    staleAfterMs?: number;
    config?: Record<string, string | null>;
  };
  requireTests?: boolean;
  requiredConfig?: string[];
}

/** A review app as `GET /v1/apps/:app/reviews` lists it. */
export interface ReviewView {
  /** The review app. */
  app: string;
  /** The pipeline app it was made from. */
  parent: string;
  pipeline: string;
  branch: string;
  commit?: string;
  url: string;
  release: number;
  updatedAt: string;
  staleAt: string;
}

/** Pipelines, promotion and review apps (docs/delivery/pipelines.md). */
export class PipelinesClient {
  constructor(readonly client: GantryClient) {}

  list(): Promise<(PipelineStatus & { modRevision: number })[]> {
    return this.client.json("GET", "/v1/pipelines");
  }

  get(name: string): Promise<PipelineStatus> {
    return this.client.json("GET", `/v1/pipelines/${seg(name)}`);
  }

  create(body: PipelineCreate): Promise<PipelineStatus> {
    return this.client.json("POST", "/v1/pipelines", { body });
  }

  update(name: string, body: PipelineUpdate): Promise<PipelineStatus> {
    return this.client.json("PUT", `/v1/pipelines/${seg(name)}`, { body });
  }

  delete(
    name: string,
    confirm: string,
  ): Promise<{ pipeline: string; reviewAppsDestroyed: string[] }> {
    return this.client.json("DELETE", `/v1/pipelines/${seg(name)}`, { query: { confirm } });
  }

  /** Promote what `app` serves to the next stage (or `to`); follow the target's deploy after. */
  promote(app: string, to?: string): Promise<PromoteAnswer> {
    return this.client.json("POST", `/v1/apps/${seg(app)}/promote`, {
      body: to === undefined ? {} : { to },
    });
  }

  reviews(app: string): Promise<{ enabled: boolean; reviews: ReviewView[] }> {
    return this.client.json("GET", `/v1/apps/${seg(app)}/reviews`);
  }
}
