import type { NotifyPayload } from "../model/notify.js";

/** The one line a chat shows for an event (Slack reads `text`; `<url|label>` is its link form). */
export function eventText(p: Omit<NotifyPayload, "text">): string {
  const v = p.release === undefined ? "" : ` v${p.release}`;
  const where = p.pipeline === undefined ? "" : ` (pipeline ${p.pipeline})`;
  switch (p.event) {
    case "deploy.started":
      return `${p.app}: deploying${v}${where}`;
    case "deploy.succeeded":
      return `${p.app}${v} deployed${p.url === undefined ? "" : ` at <${p.url}|${p.url}>`}${where}`;
    case "deploy.failed":
      return `${p.app}: deploy of${v} failed${where}: ${p.error ?? "unknown error"}`;
    case "test.failed": {
      const commit =
        p.commit === undefined || p.commit === "upload" ? "" : ` of ${p.commit.slice(0, 12)}`;
      return `${p.app}: tests ${p.status === "timeout" ? "timed out" : "failed"} for build ${p.build ?? "?"}${commit}${where}: ${p.error ?? "unknown error"}`;
    }
    case "promotion": {
      const from = p.promotedFrom;
      return `${p.app}${v}: promoted from ${from === undefined ? "?" : `${from.app} v${from.version}`}${where}`;
    }
    case "test":
      return `${p.app}: a test notification from Gantry${where}`;
  }
}
