import { Link } from "wouter";
import { Badge, Time } from "./bits";
import type { AppRow } from "./fleet-types";
import type { Column } from "./table";

/** When the app last deployed: the deploy's end, or its start while it runs. */
export const lastDeployAt = (a: AppRow): string | undefined =>
  a.status?.deploy?.finishedAt ?? a.status?.deploy?.startedAt;

/** The apps table's columns (name, release, instances, URL, state, last deploy). */
export const appColumns: Column<AppRow>[] = [
  {
    title: "App",
    cell: (a) => <Link href={`/apps/${encodeURIComponent(a.name)}`}>{a.name}</Link>,
  },
  {
    title: "Release",
    cell: (a) => (a.currentRelease > 0 ? `v${a.currentRelease}` : <span className="muted">—</span>),
  },
  {
    title: "Instances",
    className: "num",
    cell: (a) => (a.status === undefined ? "—" : `${a.status.running}/${a.status.desired}`),
  },
  { title: "State", cell: (a) => <Badge state={a.status?.state ?? "unknown"} /> },
  {
    title: "URL",
    className: "hide-phone",
    cell: (a) => (
      <a href={a.url} target="_blank" rel="noreferrer noopener">
        {a.url.replace(/^https?:\/\//, "").replace(/\/$/, "")}
      </a>
    ),
  },
  { title: "Last deploy", className: "hide-phone", cell: (a) => <Time at={lastDeployAt(a)} /> },
];
