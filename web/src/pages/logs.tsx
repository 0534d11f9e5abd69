import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { Link, useSearch } from "wouter";
import type { ApiError } from "../api";
import { seg } from "../api";
import { Page } from "../components/page";
import { useLive } from "../hooks";
import { openFeed, type FeedState } from "../components/log-feed";
import { LogModel } from "../components/log-model";
import { LogToolbar, TAILS } from "../components/log-toolbar";
import { LogView } from "../components/log-view";
import "./logs.css";

interface AppInfo {
  name: string;
  formation?: Record<string, number>;
}

/** Sources that are not in the formation but write to the log. */
const OTHER_SOURCES = ["build", "deploy", "run"];

/**
 * An app's logs, live: `/ui/apps/:app/logs[?ps=web&tail=10000&q=error]`. Keys: `/` search,
 * `f` follow, End the newest line.
 */
export function Logs(props: { params: { app: string } }) {
  const app = props.params.app;
  const query = new URLSearchParams(useSearch());
  const [ps, setPs] = useState(query.get("ps") ?? "");
  const [tail, setTail] = useState(() => {
    const n = Number(query.get("tail"));
    return TAILS.includes(n) ? n : 10_000;
  });
  const [follow, setFollow] = useState(true);
  const [state, setState] = useState<FeedState>("connecting");
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const model = useMemo(() => new LogModel(), []);
  useSyncExternalStore(model.subscribe, model.getVersion);
  const search = useRef<HTMLInputElement>(null);
  const info = useLive<AppInfo>(`/v1/apps/${seg(app)}`, ["apps"], (c) => c.name === app);

  useEffect(() => {
    model.clear();
    setError(undefined);
    const close = openFeed({
      app,
      ps,
      tail,
      onLines: (raws) => model.add(raws),
      onState: (s, err) => {
        setState(s);
        if (err !== undefined) setError(err);
      },
    });
    return () => {
      close();
      model.stop();
    };
  }, [app, ps, tail, model]);

  const onQuery = useCallback((q: string) => model.setQuery(q), [model]);
  const onFollow = useCallback((f: boolean) => {
    setFollow(f);
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t !== null && (/^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName) || t.isContentEditable))
        return;
      if (e.key === "/") {
        e.preventDefault();
        search.current?.focus();
      } else if (e.key === "f") {
        setFollow((f) => !f);
      } else if (e.key === "End") {
        e.preventDefault();
        setFollow(true);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const types = [
    ...new Set([...Object.keys(info.data?.formation ?? {}), ...model.types, ...OTHER_SOURCES]),
  ].sort();
  const shown = model.count;
  return (
    <Page
      title={
        <>
          <Link href={`/apps/${seg(app)}`}>{app}</Link> · logs
        </>
      }
      docTitle={`${app} logs`}
      ready={state !== "connecting"}
      error={error ?? info.error}
    >
      <LogToolbar
        searchRef={search}
        initialQuery={query.get("q") ?? ""}
        onQuery={onQuery}
        follow={follow}
        onFollow={onFollow}
        paused={model.paused}
        held={model.heldCount}
        onPaused={(p) => model.setPaused(p)}
        ps={ps}
        types={ps === "" || types.includes(ps) ? types : [ps, ...types]}
        onPs={setPs}
        tail={tail}
        onTail={setTail}
      />
      <p className="log-status muted" data-testid="log-status" data-state={state} role="status">
        {state === "live"
          ? "live"
          : state === "connecting"
            ? "connecting…"
            : state === "reconnecting"
              ? "reconnecting…"
              : "stopped"}
        {" · "}
        {model.query === ""
          ? `${shown.toLocaleString("en")} lines`
          : `${shown.toLocaleString("en")} of ${model.ring.length.toLocaleString("en")} lines match`}
      </p>
      <LogView model={model} follow={follow} onFollow={onFollow} />
    </Page>
  );
}
