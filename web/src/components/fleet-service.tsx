import { seg } from "../api";
import { useLive } from "../hooks";
import type { Change } from "../live";
import { Badge, Time } from "./bits";
import type { ServiceInstance } from "./fleet-types";
import { ErrorBox, Skeleton } from "./page";

/** A service's instances and each of their checks with its output (fetched when expanded). */
export function ServiceInstances(props: { service: string }) {
  const { service } = props;
  const match = (c: Change): boolean => c.name === service;
  const { data, error } = useLive<ServiceInstance[]>(
    `/v1/catalog/service/${seg(service)}`,
    ["services"],
    match,
  );
  if (error !== undefined) return <ErrorBox error={error} />;
  if (data === undefined) return <Skeleton rows={2} />;
  if (data.length === 0) return <p className="empty">No instances.</p>;
  return (
    <ul className="svc-instances" data-testid={`service-instances-${service}`}>
      {data.map((i) => (
        <li key={i.id} className="svc-instance">
          <div className="svc-instance-head">
            <Badge state={i.status} />
            <code>{i.id}</code>
            <span className="muted">
              on {i.node}
              {i.address === undefined
                ? ""
                : ` · ${i.address}${i.port === undefined ? "" : `:${i.port}`}`}
            </span>
          </div>
          {i.checks.length === 0 ? (
            <p className="muted svc-nocheck">no checks (counts as passing)</p>
          ) : (
            <ul className="svc-checks">
              {i.checks.map((c) => (
                <li key={c.id} data-testid="service-check">
                  <Badge state={c.status} /> <strong>{c.name || c.id}</strong>{" "}
                  <span className="muted">
                    {c.type} · since <Time at={c.since} />
                  </span>
                  {c.output === "" ? null : <pre className="svc-output">{c.output}</pre>}
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}
