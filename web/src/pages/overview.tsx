import { useMemo } from "react";
import "../fleet.css";
import { appsByState, Card, FailingChecks, RecentDeploys } from "../components/fleet-overview";
import type { AppRow, NodeRow, ServiceRow } from "../components/fleet-types";
import { ErrorBox, Page, Skeleton } from "../components/page";
import { useLive } from "../hooks";
import { countStates } from "./nodes";

/**
 * The platform at a glance: nodes by state, apps by state, failing checks, recent deploys —
 * three requests (nodes, apps with status, services with failing checks), each fetched again
 * only when its topics change.
 */
export function Overview() {
  const nodes = useLive<NodeRow[]>("/v1/nodes?all", ["nodes", "instances"]);
  const apps = useLive<AppRow[]>("/v1/apps?status", ["apps", "instances"]);
  const services = useLive<ServiceRow[]>("/v1/catalog/services?checks", ["services"]);
  const n = useMemo(() => countStates(nodes.data ?? []), [nodes.data]);
  const byState = useMemo(() => appsByState(apps.data ?? []), [apps.data]);
  const failing = (services.data ?? []).reduce((sum, s) => sum + s.failing.length, 0);
  const done = (l: { data: unknown; error: unknown }): boolean =>
    l.data !== undefined || l.error !== undefined;
  return (
    <Page title="Overview" ready={done(nodes) && done(apps) && done(services)}>
      <div className="cards">
        <Card
          href="/nodes"
          num={nodes.data?.length}
          label="nodes"
          testId="card-nodes"
          parts={[
            { state: "ready", n: n.ready },
            { state: "draining", n: n.draining },
            { state: "down", n: n.down },
          ]}
        />
        <Card
          href="/apps"
          num={apps.data?.length}
          label="apps"
          testId="card-apps"
          parts={byState}
        />
        <Card
          href="/services"
          num={services.data === undefined ? undefined : failing}
          label="failing checks"
          testId="card-checks"
          parts={[
            {
              state: "passing",
              n: (services.data ?? []).reduce((sum, s) => sum + s.passing, 0),
            },
          ]}
        />
      </div>
      <div className="overview-grid">
        <section>
          <h2>Failing checks</h2>
          {services.error !== undefined ? (
            <ErrorBox error={services.error} />
          ) : services.data === undefined ? (
            <Skeleton rows={3} />
          ) : (
            <FailingChecks services={services.data} />
          )}
        </section>
        <section>
          <h2>Recent deploys</h2>
          {apps.error !== undefined ? (
            <ErrorBox error={apps.error} />
          ) : apps.data === undefined ? (
            <Skeleton rows={3} />
          ) : (
            <RecentDeploys apps={apps.data} />
          )}
        </section>
      </div>
      {nodes.error === undefined ? null : <ErrorBox error={nodes.error} />}
    </Page>
  );
}
