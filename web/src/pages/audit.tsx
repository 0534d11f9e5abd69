import { useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api";
import { Time } from "../components/bits";
import { NeedsAdmin } from "../components/needs-admin";
import { Empty, Page, Skeleton } from "../components/page";
import { Table } from "../components/table";
import { useChanges } from "../hooks";
import { live } from "../live";
import { useCan } from "../session";
import { AuditFilters, filterQuery, NO_FILTER, type AuditFilter } from "./audit-filters";
import "../data-pages.css";

/** One entry as GET /v1/audit lists it. */
export interface AuditEntry {
  id: string;
  time: string;
  token: string;
  tokenId: string;
  action: string;
  target: string;
}

const PAGE = 50;

/** GET /v1/audit with the filters' query and these parameters (a later since replaces the filter's). */
function auditUrl(filters: string, extra: Record<string, string>): string {
  const q = new URLSearchParams(filters);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return `/v1/audit?${q.toString()}`;
}

/** The audit log (admin): newest first, filtered on the server, older pages on demand, live. */
export function Audit() {
  const can = useCan();
  if (!can("admin", "", "read")) return <NeedsAdmin title="Audit log" />;
  return <AuditPage />;
}

function AuditPage() {
  const [filter, setFilter] = useState<AuditFilter>(NO_FILTER);
  const [entries, setEntries] = useState<AuditEntry[] | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [more, setMore] = useState(false);
  const [older, setOlder] = useState(false);
  const [epoch, setEpoch] = useState(0);
  const current = useRef<AuditEntry[] | undefined>(undefined);
  const fetching = useRef(false);
  const again = useRef(false);
  const query = filterQuery(filter);

  const show = (list: AuditEntry[]): void => {
    current.current = list;
    setEntries(list);
  };

  // Entries newer than the newest shown (the same millisecond included, then deduplicated).
  const fetchNewer = useCallback(async (): Promise<void> => {
    const shown = current.current;
    if (fetching.current || shown === undefined) {
      again.current = true;
      return;
    }
    fetching.current = true;
    try {
      const since = shown[0]?.time;
      const list = await api<AuditEntry[]>(
        since === undefined
          ? auditUrl(query, { limit: String(PAGE) })
          : auditUrl(query, { limit: "1000", since }),
      );
      const known = new Set(current.current?.map((e) => e.id));
      const fresh = list.filter((e) => !known.has(e.id)).reverse();
      if (fresh.length > 0 && current.current !== undefined) show([...fresh, ...current.current]);
    } catch (err) {
      if (err instanceof ApiError) setError(err);
    } finally {
      fetching.current = false;
      if (again.current && current.current !== undefined) {
        again.current = false;
        void fetchNewer();
      }
    }
  }, [query]);

  useEffect(() => {
    let stopped = false;
    current.current = undefined;
    again.current = false;
    setEntries(undefined);
    setError(undefined);
    fetching.current = true;
    api<AuditEntry[]>(auditUrl(query, { limit: String(PAGE) }))
      .then((list) => {
        if (stopped) return;
        show([...list].reverse());
        setMore(list.length === PAGE);
      })
      .catch((err: unknown) => {
        if (!stopped && err instanceof ApiError) setError(err);
      })
      .finally(() => {
        if (stopped) return;
        fetching.current = false;
        if (again.current) {
          again.current = false;
          void fetchNewer();
        }
      });
    return () => {
      stopped = true;
    };
  }, [query, epoch, fetchNewer]);

  useChanges(["audit"], () => void fetchNewer());
  useEffect(() => live.onReset(() => setEpoch((n) => n + 1)), []);

  const loadOlder = async (): Promise<void> => {
    const last = entries?.[entries.length - 1];
    if (last === undefined) return;
    setOlder(true);
    try {
      const list = await api<AuditEntry[]>(
        auditUrl(query, { limit: String(PAGE), before: last.id }),
      );
      if (current.current !== undefined) show([...current.current, ...[...list].reverse()]);
      setMore(list.length === PAGE);
    } catch (err) {
      if (err instanceof ApiError) setError(err);
    } finally {
      setOlder(false);
    }
  };

  return (
    <Page title="Audit log" ready={entries !== undefined || error !== undefined} error={error}>
      <AuditFilters value={filter} onChange={setFilter} />
      {entries === undefined ? (
        error === undefined ? (
          <Skeleton rows={8} />
        ) : null
      ) : entries.length === 0 ? (
        <Empty>{query === "" ? "Nothing audited yet." : "No entries match these filters."}</Empty>
      ) : (
        <Table<AuditEntry>
          label="audit log, newest first"
          rows={entries}
          rowKey={(e) => e.id}
          rowTestId={() => "audit-row"}
          columns={[
            {
              title: "Time",
              cell: (e) => (
                <>
                  <Time at={e.time} />{" "}
                  <span className="muted">{new Date(e.time).toLocaleString()}</span>
                </>
              ),
            },
            { title: "Token", cell: (e) => <span data-testid="audit-token">{e.token}</span> },
            { title: "Action", cell: (e) => <code data-testid="audit-action">{e.action}</code> },
            {
              title: "Target",
              cell: (e) => <span data-testid="audit-target">{e.target}</span>,
            },
          ]}
        />
      )}
      {entries !== undefined && more ? (
        <p className="f-more">
          <button
            type="button"
            className="btn"
            disabled={older}
            onClick={() => void loadOlder()}
            data-testid="audit-older"
          >
            {older ? "Loading…" : "Load older"}
          </button>
        </p>
      ) : null}
    </Page>
  );
}
