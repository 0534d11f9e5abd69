import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { api, ApiError } from "./api";
import { live, type Change, type LiveState, type Topic } from "./live";

export interface Live<T> {
  data: T | undefined;
  error: ApiError | undefined;
  /** True until the first answer (or error); later refetches keep the old data shown. */
  loading: boolean;
  /** Fetch again now (after an action whose result the stream will also report). */
  reload: () => void;
}

/**
 * GET `path` once, then again whenever the event stream reports a change of one of `topics`
 * (and, with `match`, one that concerns this view) — never on a timer. Refetches are coalesced:
 * at most one in flight, and a burst of changes during it causes one more, not one each.
 */
export function useLive<T>(
  path: string | null,
  topics: readonly Topic[],
  match?: (c: Change) => boolean,
): Live<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | undefined>(undefined);
  const [loading, setLoading] = useState(path !== null);
  const matchRef = useRef(match);
  matchRef.current = match;
  const reloadRef = useRef<() => void>(() => {});
  const topicKey = topics.join(",");

  useEffect(() => {
    if (path === null) return;
    let stopped = false;
    let inFlight = false;
    let again = false;
    const ctrl = new AbortController();
    setLoading(true);
    setData(undefined);
    setError(undefined);
    const load = async (): Promise<void> => {
      if (inFlight) {
        again = true;
        return;
      }
      inFlight = true;
      try {
        const value = await api<T>(path, { signal: ctrl.signal });
        if (!stopped) {
          setData(value);
          setError(undefined);
        }
      } catch (err) {
        if (!stopped && err instanceof ApiError) setError(err);
      } finally {
        inFlight = false;
        if (!stopped) setLoading(false);
        if (again && !stopped) {
          again = false;
          void load();
        }
      }
    };
    reloadRef.current = () => void load();
    void load();
    const wanted = new Set(topicKey.split(","));
    const offChange = live.subscribe((changes) => {
      const m = matchRef.current;
      if (changes.some((c) => wanted.has(c.topic) && (m === undefined || m(c)))) void load();
    });
    const offReset = live.onReset(() => void load());
    return () => {
      stopped = true;
      ctrl.abort();
      offChange();
      offReset();
    };
  }, [path, topicKey]);

  const reload = useCallback(() => reloadRef.current(), []);
  return { data, error, loading, reload };
}

/** The event stream's state, for the header's live indicator. */
export function useLiveStatus(): LiveState {
  return useSyncExternalStore(
    (cb) => live.onState(cb),
    () => live.state,
  );
}

/** Call `fn` for every change of these topics (pages that fold changes in themselves). */
export function useChanges(topics: readonly Topic[], fn: (changes: Change[]) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  const key = topics.join(",");
  useEffect(() => {
    const wanted = new Set(key.split(","));
    return live.subscribe((changes) => {
      const mine = changes.filter((c) => wanted.has(c.topic));
      if (mine.length > 0) ref.current(mine);
    });
  }, [key]);
}
