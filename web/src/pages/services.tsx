import { useState } from "react";
import { Badge } from "../components/bits";
import { ServiceInstances } from "../components/fleet-service";
import type { ServiceRow } from "../components/fleet-types";
import { Empty, Page, Skeleton } from "../components/page";
import { useLive } from "../hooks";
import "../fleet.css";

/** The catalog's services, their instance counts and check states; expand one for details. */
export function Services() {
  const { data, error } = useLive<ServiceRow[]>("/v1/catalog/services?checks", ["services"]);
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (name: string): void =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });
  return (
    <Page title="Services" ready={data !== undefined || error !== undefined} error={error}>
      {data === undefined ? (
        error === undefined ? (
          <Skeleton rows={5} />
        ) : null
      ) : data.length === 0 ? (
        <Empty>No services are registered.</Empty>
      ) : (
        <ul className="svc-list">
          {data.map((s) => {
            const expanded = open.has(s.name);
            const state =
              s.passing === s.instances
                ? "passing"
                : s.failing.some((f) => f.status === "critical")
                  ? "critical"
                  : "warning";
            return (
              <li key={s.name} className="svc" data-testid={`service-row-${s.name}`}>
                <button
                  type="button"
                  className="svc-head"
                  aria-expanded={expanded}
                  onClick={() => toggle(s.name)}
                >
                  <span className="svc-caret" aria-hidden="true">
                    {expanded ? "▾" : "▸"}
                  </span>
                  <strong className="svc-name">{s.name}</strong>
                  <Badge state={state} />
                  <span className="muted">
                    {s.passing}/{s.instances} passing
                    {s.failing.length > 0 ? ` · ${s.failing.length} failing checks` : ""}
                  </span>
                  <span className="muted hide-phone svc-tags">{s.tags.join(", ")}</span>
                </button>
                {expanded ? <ServiceInstances service={s.name} /> : null}
              </li>
            );
          })}
        </ul>
      )}
    </Page>
  );
}
