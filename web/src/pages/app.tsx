import type { ReactNode } from "react";
import { Link, useParams } from "wouter";
import { seg } from "../api";
import { Badge } from "../components/bits";
import { Page } from "../components/page";
import { useLive } from "../hooks";
import { BuildsTab } from "./app/builds";
import { ConfigTab } from "./app/config";
import { DomainsTab } from "./app/domains";
import { InstancesTab } from "./app/instances";
import { OverviewTab } from "./app/overview";
import { ReleasesTab } from "./app/releases";
import { appState, ofApp, type AppInfo, type TabProps } from "./app/types";
import "./app/app.css";

const TABS: { id: string; label: string; view: (p: TabProps) => ReactNode }[] = [
  { id: "overview", label: "Overview", view: (p) => <OverviewTab {...p} /> },
  { id: "releases", label: "Releases", view: (p) => <ReleasesTab {...p} /> },
  { id: "instances", label: "Instances", view: (p) => <InstancesTab {...p} /> },
  { id: "config", label: "Config", view: (p) => <ConfigTab {...p} /> },
  { id: "domains", label: "Domains", view: (p) => <DomainsTab {...p} /> },
  { id: "builds", label: "Builds", view: (p) => <BuildsTab {...p} /> },
];

/** `/apps/:app[/:tab]`: an app's header, its tabs, and the tab shown. */
export function AppPage() {
  const params = useParams<{ app: string; tab?: string }>();
  const app = params.app;
  const tabId = params.tab ?? "overview";
  const tab = TABS.find((t) => t.id === tabId);
  const info = useLive<AppInfo>(`/v1/apps/${seg(app)}`, ["apps"], ofApp(app));
  const data = info.data;
  const base = `/apps/${seg(app)}`;
  return (
    <Page
      title={
        <span className="app-title">
          {app}
          <span className="app-title-bits">
            <code data-testid="release-current" className="app-release">
              {data === undefined ? "…" : `v${data.currentRelease}`}
            </code>
            {data === undefined ? null : <Badge state={appState(data)} testId="app-state" />}
          </span>
        </span>
      }
      docTitle={app}
      ready={data !== undefined || info.error !== undefined}
      error={info.error}
      actions={
        <>
          {data === undefined ? null : (
            <a className="btn" href={data.url} target="_blank" rel="noreferrer">
              Open
            </a>
          )}
          <Link className="btn" href={`${base}/logs`}>
            Logs
          </Link>
        </>
      }
    >
      <p className="app-url">
        {data === undefined ? (
          <span className="muted">…</span>
        ) : (
          <a href={data.url} target="_blank" rel="noreferrer">
            {data.url}
          </a>
        )}
      </p>
      <nav className="tabs" aria-label="app">
        {TABS.map((t) => (
          <Link
            key={t.id}
            href={t.id === "overview" ? base : `${base}/${t.id}`}
            aria-current={t.id === tabId ? "page" : undefined}
          >
            {t.label}
          </Link>
        ))}
      </nav>
      {data === undefined && info.error !== undefined ? (
        <p className="empty">
          <Link href="/apps">Back to the apps</Link>
        </p>
      ) : tab === undefined ? (
        <p className="empty">
          No tab “{tabId}”. <Link href={base}>Back to the overview</Link>
        </p>
      ) : (
        <div role="region" className="app-tab" aria-label={tab.label}>
          {tab.view({ app, info: data })}
        </div>
      )}
    </Page>
  );
}
