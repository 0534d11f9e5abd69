import { useEffect, useRef, useState } from "react";
import { call, ApiError, seg } from "../../api";
import type { BuildView } from "./types";
import { appLogLine, fileLine } from "./logic";

/**
 * A build's log. A finished build: its log file, once. A running one: the app's log lines of
 * source `build` since it started, streamed (`?follow`) until the build ends; then the file.
 */
export function BuildLog(props: { app: string; build: BuildView }) {
  const { app, build } = props;
  const [lines, setLines] = useState<string[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>();
  const pre = useRef<HTMLPreElement>(null);
  const running = build.status === "building";
  useEffect(() => {
    const ctrl = new AbortController();
    setLines(undefined);
    setError(undefined);
    const fail = (err: unknown): void => {
      if (ctrl.signal.aborted) return;
      setError(err instanceof ApiError ? err.message : String(err));
    };
    if (!running) {
      call(`/v1/apps/${seg(app)}/builds/${seg(build.id)}/log`, { signal: ctrl.signal })
        .then((res) => res.text())
        .then((text) =>
          setLines(
            text
              .split("\n")
              .filter((l) => l !== "")
              .map(fileLine),
          ),
        )
        .catch(fail);
    } else {
      const q = `ps=build&follow&tail=5000&since=${encodeURIComponent(build.startedAt)}`;
      void (async () => {
        try {
          const res = await call(`/v1/apps/${seg(app)}/logs?${q}`, { signal: ctrl.signal });
          const reader = res.body?.pipeThrough(new TextDecoderStream()).getReader();
          if (reader === undefined) return;
          setLines([]);
          let rest = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const parts = (rest + value).split("\n");
            rest = parts.pop() ?? "";
            if (parts.length > 0) setLines((old) => [...(old ?? []), ...parts.map(appLogLine)]);
          }
        } catch (err) {
          if (!(err instanceof DOMException && err.name === "AbortError")) fail(err);
        }
      })();
    }
    return () => ctrl.abort();
  }, [app, build.id, build.startedAt, running]);
  // Keep the newest line in view while it streams.
  useEffect(() => {
    const el = pre.current;
    if (el !== null && running) el.scrollTop = el.scrollHeight;
  }, [lines, running]);
  if (error !== undefined)
    return (
      <p className="error-box" role="alert">
        {error}
      </p>
    );
  return (
    <pre
      ref={pre}
      className="app-build-log"
      data-testid="build-log"
      aria-busy={lines === undefined}
    >
      {lines === undefined ? "…" : lines.length === 0 ? "(no output yet)" : lines.join("\n")}
    </pre>
  );
}
