import { useState } from "react";
import { seg } from "../../api";
import { Badge, Time } from "../../components/bits";
import { Table } from "../../components/table";
import { useLive } from "../../hooks";
import { Pending } from "./pending";
import { BuildLog } from "./build-log";
import { ofApp, type BuildView, type TabProps } from "./types";
import { duration } from "./logic";

/** The app's builds, newest first; a build's log below the list when one is picked. */
export function BuildsTab({ app }: TabProps) {
  const builds = useLive<BuildView[]>(`/v1/apps/${seg(app)}/builds?limit=30`, ["apps"], ofApp(app));
  const [picked, setPicked] = useState<string | undefined>(undefined);
  if (builds.data === undefined) return <Pending live={builds} rows={4} />;
  const build = builds.data.find((b) => b.id === picked);
  return (
    <>
      <Table
        label="builds"
        rows={builds.data}
        rowKey={(b) => b.id}
        rowTestId={(b) => `build-row-${b.id}`}
        empty="No builds yet: git push to build."
        columns={[
          {
            title: "Build",
            cell: (b) => (
              <button
                type="button"
                className="btn link"
                aria-pressed={b.id === picked}
                onClick={() => setPicked(b.id === picked ? undefined : b.id)}
              >
                {b.id}
              </button>
            ),
          },
          { title: "State", cell: (b) => <Badge state={b.status} /> },
          {
            title: "Commit",
            cell: (b) => <code>{b.commit === "upload" ? "upload" : b.commit.slice(0, 10)}</code>,
          },
          { title: "Started", cell: (b) => <Time at={b.startedAt} /> },
          { title: "Took", cell: (b) => duration(b), className: "num" },
          { title: "Kind", cell: (b) => b.kind ?? b.stack ?? "—", className: "hide-phone" },
          { title: "By", cell: (b) => b.createdBy, className: "hide-phone" },
        ]}
      />
      {build === undefined ? null : (
        <section className="app-build" aria-label={`log of build ${build.id}`}>
          <h2>
            Build {build.id} <Badge state={build.status} />
          </h2>
          {build.error === undefined ? null : <p className="error-box">{build.error}</p>}
          <BuildLog app={app} build={build} />
        </section>
      )}
    </>
  );
}
