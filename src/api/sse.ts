/**
 * Server-Sent Events over a store watch, shared by the KV watch (`/v1/watch/kv/…`) and the
 * dashboard's event stream (`/v1/events`): the headers, where to resume, the `ready` event, one
 * event per store revision (so `id:` is exact and Last-Event-ID resumes without repeats), a
 * heartbeat comment, and an `error` event (with `compactRevision` on compaction) that ends it.
 */
import { ValidationError } from "../errors.js";
import { CompactedError, type Watch, type WatchEvent } from "../store/index.js";
import type { Ctx } from "./context.js";

export const HEARTBEAT_MS = 15_000;

const SSE_HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-accel-buffering": "no",
};

/** One SSE event, as written on the wire. */
export function sseEvent(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The first revision to send: `Last-Event-ID` + 1 when the client resumes (EventSource sends it
 * on reconnect), else `?start` (0: only changes from now on). The caller allows the query.
 */
export function resumeRevision(ctx: Ctx): number {
  let start = ctx.int("start", 0);
  const lastId = ctx.req.headers["last-event-id"];
  if (typeof lastId === "string" && lastId !== "") {
    if (!/^\d{1,16}$/.test(lastId))
      throw new ValidationError("Last-Event-ID must be a revision", "Last-Event-ID");
    start = Number(lastId) + 1;
  }
  return start;
}

/** HEAD gets the headers only: its body is discarded, so a stream would never flush them. */
export function answeredHead(ctx: Ctx): boolean {
  if (ctx.method !== "HEAD") return false;
  ctx.res.writeHead(200, SSE_HEADERS).end();
  return true;
}

/** Events grouped by revision, in order. */
export function byRevision(batch: readonly WatchEvent[]): Map<number, WatchEvent[]> {
  const out = new Map<number, WatchEvent[]>();
  for (const e of batch) {
    const group = out.get(e.kv.modRevision);
    if (group === undefined) out.set(e.kv.modRevision, [e]);
    else group.push(e);
  }
  return out;
}

export interface WatchStream {
  watch: Watch;
  /** The revision the `ready` event reports (the client can resume from it if nothing changes). */
  ready: () => Promise<number>;
  /**
   * The `id:` of the `ready` event: the revision the stream carries on after (so a client that
   * reconnects before any change still resumes without a gap). Absent: no id.
   */
  readyId?: number;
  /** One revision's events as SSE text, or undefined to send nothing for it. */
  render: (revision: number, events: WatchEvent[]) => string | undefined;
}

/**
 * Stream `s.watch` to the client until it goes away, the server closes (`closing`), or the
 * watch fails (an `error` event, then the end). Cancels the watch in every case.
 */
export async function streamWatch(ctx: Ctx, closing: AbortSignal, s: WatchStream): Promise<void> {
  const { res, req } = ctx;
  let ready: number;
  try {
    ready = await s.ready();
  } catch (err) {
    s.watch.cancel();
    throw err;
  }
  res.writeHead(200, SSE_HEADERS);
  res.write(sseEvent("ready", { revision: ready }, s.readyId));
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  const stop = (): void => s.watch.cancel();
  req.on("close", stop);
  closing.addEventListener("abort", stop);
  try {
    for await (const batch of s.watch) {
      for (const [revision, group] of byRevision(batch)) {
        const text = s.render(revision, group);
        if (text !== undefined) res.write(text);
      }
    }
  } catch (err) {
    res.write(sseEvent("error", errorData(err)));
  } finally {
    clearInterval(heartbeat);
    req.off("close", stop);
    closing.removeEventListener("abort", stop);
    s.watch.cancel();
    res.end();
  }
}

function errorData(err: unknown): { code: string; message: string; compactRevision?: number } {
  if (err instanceof CompactedError)
    return { code: err.code, message: err.message, compactRevision: err.compactRevision };
  return {
    code: (err as { code?: string }).code ?? "internal",
    message: err instanceof Error ? err.message : String(err),
  };
}
