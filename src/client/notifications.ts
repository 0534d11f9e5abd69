import type { HookTestResult as TestResult, HookView, NotifyEvent } from "../model/notify.js";
import type { GantryClient } from "./client.js";

const seg = encodeURIComponent;

/** Whose hooks: an app's or a pipeline's. */
export type HookOwner = { app: string } | { pipeline: string };

/** Notification webhooks (src/api/routes/notifications.ts, docs/delivery/notifications.md). */
export class NotificationsClient {
  constructor(readonly client: GantryClient) {}

  private base(o: HookOwner): string {
    return "app" in o
      ? `/v1/apps/${seg(o.app)}/notifications`
      : `/v1/pipelines/${seg(o.pipeline)}/notifications`;
  }

  list(o: HookOwner): Promise<HookView[]> {
    return this.client.json("GET", this.base(o));
  }

  /** Add a hook; the answer carries its signing secret, which is never shown again. */
  add(o: HookOwner, url: string, events?: NotifyEvent[]): Promise<HookView & { secret: string }> {
    return this.client.json("POST", this.base(o), {
      body: events === undefined ? { url } : { url, events },
    });
  }

  remove(o: HookOwner, id: string): Promise<void> {
    return this.client.json("DELETE", `${this.base(o)}/${seg(id)}`);
  }

  test(o: HookOwner, id: string): Promise<TestResult> {
    return this.client.json("POST", `${this.base(o)}/${seg(id)}/test`);
  }
}
