import { api, seg } from "../../api";
import { Badge, Time } from "../../components/bits";
import { ConfirmButton } from "../../components/confirm";
import { Table, type Column } from "../../components/table";
import { useLive } from "../../hooks";
import { Pending } from "./pending";
import { useCan } from "../../session";
import { ofApp, type ReleaseView, type TabProps } from "./types";
import { releaseKind } from "./logic";

/** Every release, newest first, with a confirmed "Roll back" on the older ones. */
export function ReleasesTab({ app, info }: TabProps) {
  const can = useCan();
  const releases = useLive<ReleaseView[]>(`/v1/apps/${seg(app)}/releases`, ["apps"], ofApp(app));
  if (releases.data === undefined) return <Pending live={releases} rows={5} />;
  const current = info?.currentRelease ?? 0;
  const mayDeploy = can("app", app, "deploy");
  const next = Math.max(0, ...releases.data.map((r) => r.version)) + 1;
  const rows = [...releases.data].reverse();
  const columns: Column<ReleaseView>[] = [
    {
      title: "Release",
      cell: (r) => (
        <span className="app-version">
          <code>v{r.version}</code>
          {r.version === current ? <Badge state="live">current</Badge> : null}
        </span>
      ),
    },
    { title: "Kind", cell: (r) => <span className="muted">{releaseKind(r)}</span> },
    {
      title: "Description",
      cell: (r) => (
        <span className="app-ellipsis" title={r.error ?? r.description}>
          {r.description}
        </span>
      ),
    },
    { title: "Status", cell: (r) => <Badge state={r.status} /> },
    { title: "Created", cell: (r) => <Time at={r.createdAt} /> },
    { title: "By", cell: (r) => r.createdBy, className: "hide-phone" },
  ];
  if (mayDeploy)
    columns.push({
      title: "Actions",
      cell: (r) =>
        r.version < current && r.status !== "abandoned" ? (
          <ConfirmButton
            label="Roll back"
            title={`Roll back ${app} to v${r.version}?`}
            danger
            className="btn"
            testId={`rollback-v${r.version}`}
            action={() =>
              api(`/v1/apps/${seg(app)}/releases/rollback`, {
                method: "POST",
                body: { version: r.version },
              }).then(() => releases.reload())
            }
          >
            <p>
              This makes <strong>v{next}</strong> with the code and config of{" "}
              <strong>v{r.version}</strong> ({r.description}) and deploys it in place of v{current}.
            </p>
            <p className="muted">
              The app is pinned: a stack leaves its release alone until{" "}
              <code>gantry releases:unpin {app}</code>.
            </p>
          </ConfirmButton>
        ) : null,
    });
  return (
    <Table
      label="releases"
      columns={columns}
      rows={rows}
      rowKey={(r) => String(r.version)}
      rowTestId={(r) => `release-row-v${r.version}`}
      empty="No releases yet: the first push makes v1."
    />
  );
}
