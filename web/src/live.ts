/**
 * One EventSource on `GET /v1/events` for the whole dashboard. Pages subscribe to topics and
 * are told which names changed; nothing polls. The browser reconnects by itself and sends
 * Last-Event-ID, so the server replays what happened while the connection was down.
 */

import { ApiError, call } from "./api";

export type Topic =
  | "apps"
  | "instances"
  | "nodes"
  | "services"
  | "kv"
  | "converge"
  | "stack"
  | "pools"
  | "pipelines"
  | "audit"
  | "tokens"
  | "servers"
  | "certs";

export interface Change {
  topic: Topic;
  name: string;
  type: "put" | "delete";
}

export type LiveState = "connecting" | "live" | "reconnecting";

type Listener = (changes: Change[]) => void;

class LiveHub {
  private source: EventSource | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  /** Told to refetch everything: a resume was impossible (compacted history). */
  private readonly resetListeners = new Set<() => void>();
  state: LiveState = "connecting";
  revision = 0;

  start(): void {
    if (this.source !== undefined) return;
    this.open("/v1/events");
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
    this.setState("connecting");
  }

  private open(url: string): void {
    const es = new EventSource(url, { withCredentials: true });
    this.source = es;
    es.addEventListener("open", () => this.setState("live"));
    es.addEventListener("ready", (e) => {
      const { revision } = JSON.parse((e as MessageEvent<string>).data) as { revision: number };
      this.revision = revision;
      this.setState("live");
    });
    es.addEventListener("change", (e) => {
      const msg = JSON.parse((e as MessageEvent<string>).data) as {
        revision: number;
        changes: Change[];
      };
      this.revision = msg.revision;
      for (const l of this.listeners) l(msg.changes);
    });
    es.addEventListener("error", (e) => {
      const data = (e as MessageEvent<string | undefined>).data;
      if (typeof data === "string" && data !== "") {
        // The server ended the stream on purpose (history compacted): start over from now and
        // have every page refetch, since some changes cannot be replayed.
        es.close();
        this.setState("reconnecting");
        setTimeout(() => {
          this.open("/v1/events");
          for (const r of this.resetListeners) r();
        }, 500);
        return;
      }
      // A network error: EventSource retries by itself (readyState CONNECTING) and resumes
      // with Last-Event-ID. If it gave up (CLOSED: the server answered an error), open again
      // from the last revision seen.
      this.setState("reconnecting");
      if (es.readyState === EventSource.CLOSED) {
        setTimeout(() => {
          if (this.source !== es) return;
          // An ended session would be refused forever: ask once; a 401 logs the page out
          // (api.ts), anything else tries the stream again.
          call("/v1/ui/session").then(
            () => this.reopen(es),
            (err: unknown) => {
              if (!(err instanceof ApiError && err.status === 401)) this.reopen(es);
            },
          );
        }, 2000);
      }
    });
  }

  /** Open the stream again from the last revision seen (if `es` is still the current one). */
  private reopen(es: EventSource): void {
    if (this.source !== es) return;
    this.open(this.revision > 0 ? `/v1/events?start=${this.revision + 1}` : "/v1/events");
  }

  private setState(s: LiveState): void {
    if (s === this.state) return;
    this.state = s;
    for (const l of this.stateListeners) l(s);
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onState(fn: (s: LiveState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  onReset(fn: () => void): () => void {
    this.resetListeners.add(fn);
    return () => this.resetListeners.delete(fn);
  }
}

export const live = new LiveHub();
