import type { CronAdd, CronJob, CronJobView, CronRun } from "../model/cron.js";
import type { GantryClient } from "./client.js";

const seg = encodeURIComponent;

/** Scheduled jobs (src/api/routes/cron.ts, docs/delivery/cron.md). */
export class CronClient {
  constructor(readonly client: GantryClient) {}

  /** Every job of the apps the caller may read (the stack's `cron:` kind). */
  async all(): Promise<(CronJob & { modRevision: number })[]> {
    const r: { jobs: (CronJob & { modRevision: number })[] } = await this.client.json(
      "GET",
      "/v1/cron",
    );
    return r.jobs;
  }

  async list(app: string, runs = 5): Promise<CronJobView[]> {
    const r: { jobs: CronJobView[] } = await this.client.json(
      "GET",
      `/v1/apps/${seg(app)}/cron?runs=${runs}`,
    );
    return r.jobs;
  }

  add(app: string, req: CronAdd): Promise<{ job: CronJob; changed: boolean }> {
    return this.client.json("POST", `/v1/apps/${seg(app)}/cron`, { body: req });
  }

  remove(app: string, id: string): Promise<void> {
    return this.client.json("DELETE", `/v1/apps/${seg(app)}/cron/${seg(id)}`);
  }

  async runs(app: string, id: string): Promise<CronRun[]> {
    const r: { runs: CronRun[] } = await this.client.json(
      "GET",
      `/v1/apps/${seg(app)}/cron/${seg(id)}/runs`,
    );
    return r.runs;
  }
}
