import { useDeferredValue, useMemo, useState } from "react";
import "../fleet.css";
import { appColumns } from "../components/fleet-apps";
import type { AppRow } from "../components/fleet-types";
import { Page, Skeleton } from "../components/page";
import { VirtualTable } from "../components/fleet-vtable";
import { useLive } from "../hooks";

/**
 * Every app: release, instances running/wanted, state, URL and last deploy — one request
 * (`GET /v1/apps?status`), fetched again when an app or an instance changes.
 */
export function Apps() {
  const { data, error } = useLive<AppRow[]>("/v1/apps?status", ["apps", "instances"]);
  const [filter, setFilter] = useState("");
  const wanted = useDeferredValue(filter.trim().toLowerCase());
  const rows = useMemo(
    () => (data ?? []).filter((a) => wanted === "" || a.name.includes(wanted)),
    [data, wanted],
  );
  return (
    <Page
      title="Apps"
      ready={data !== undefined || error !== undefined}
      error={error}
      actions={
        <input
          type="search"
          aria-label="filter apps by name"
          placeholder="Filter apps"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="apps-filter"
        />
      }
    >
      {data === undefined ? (
        <Skeleton rows={8} />
      ) : (
        <>
          <p className="muted fleet-count">
            {rows.length === data.length
              ? `${data.length} apps`
              : `${rows.length} of ${data.length} apps`}
          </p>
          <VirtualTable
            label="apps"
            columns={appColumns}
            rows={rows}
            rowKey={(a) => a.name}
            rowTestId={(a) => `app-row-${a.name}`}
            empty={
              data.length === 0 ? (
                <>
                  No apps yet: <code>gantry apps:create NAME</code>, then push to it.
                </>
              ) : (
                "No app matches the filter."
              )
            }
          />
        </>
      )}
    </Page>
  );
}
