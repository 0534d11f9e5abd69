/**
 * The logs page's connection: `GET /v1/apps/:app/logs?follow&tail=N[&ps=]` read with fetch and
 * a ReadableStream, split into lines as chunks arrive. When the stream drops it reconnects
 * (1 s, then up to 5 s apart) with `since=` the last line's time, dropping the lines of that
 * time it already delivered, so nothing is shown twice.
 */
import { ApiError, call, seg } from "../api";
import { LineSplitter, ResumeFilter } from "./log-buffer";

export type FeedState = "connecting" | "live" | "reconnecting" | "failed";

export interface FeedOptions {
  app: string;
  /** A process type or instance (`web`, `web.1`); "" for every source. */
  ps: string;
  /** How many past lines to start with. */
  tail: number;
  onLines: (raws: string[]) => void;
  onState: (state: FeedState, error?: ApiError) => void;
}

/** The most lines one request may ask for (the API's ?tail limit). */
export const MAX_TAIL = 100_000;

/** Open the feed; the returned function closes it for good. */
export function openFeed(opts: FeedOptions): () => void {
  const ctrl = new AbortController();
  void run(opts, ctrl.signal);
  return () => ctrl.abort();
}

async function run(opts: FeedOptions, signal: AbortSignal): Promise<void> {
  const resume = new ResumeFilter();
  let delay = 1000;
  let first = true;
  while (!signal.aborted) {
    const q = new URLSearchParams();
    q.set("follow", "true");
    const since = first ? undefined : resume.since;
    // Resuming: every line from the last one's time on (the API's tail applies before since).
    q.set("tail", String(since === undefined ? opts.tail : MAX_TAIL));
    if (since !== undefined) {
      q.set("since", since);
      resume.resume();
    }
    if (opts.ps !== "") q.set("ps", opts.ps);
    opts.onState(first ? "connecting" : "reconnecting");
    try {
      const res = await call(`/v1/apps/${seg(opts.app)}/logs?${q.toString()}`, { signal });
      if (res.body === null) throw new ApiError(0, "offline", "the log stream has no body");
      opts.onState("live");
      first = false;
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const split = new LineSplitter();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = resume.filter(split.push(value));
        if (lines.length > 0) opts.onLines(lines);
      }
    } catch (err) {
      if (signal.aborted) return;
      // A refusal (unknown app, no permission, bad filter) does not get better by retrying.
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
        opts.onState("failed", err);
        return;
      }
    }
    if (signal.aborted) return;
    opts.onState("reconnecting");
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 5000);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        res();
      },
      { once: true },
    );
  });
}
