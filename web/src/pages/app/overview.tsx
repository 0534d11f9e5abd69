import { seg } from "../../api";
import { Badge, Time } from "../../components/bits";
import { Skeleton } from "../../components/page";
import { useLive } from "../../hooks";
import { Pending } from "./pending";
import { progressOf, summary } from "./progress";
import { ofApp, type DeployView, type PsEntry, type TabProps } from "./types";

/** The app at a glance: its release, the last (or running) deploy with its progress, instances. */
export function OverviewTab({ app, info }: TabProps) {
  const hasRelease = info !== undefined && (info.currentRelease > 0 || info.deploy !== undefined);
  const deploy = useLive<DeployView>(
    hasRelease ? `/v1/apps/${seg(app)}/deploys/current` : null,
    ["apps"],
    ofApp(app),
  );
  const ps = useLive<PsEntry[]>(`/v1/apps/${seg(app)}/ps`, ["apps", "instances"], ofApp(app));
  if (info === undefined) return <Skeleton rows={4} />;
  const rel = info.release;
  return (
    <>
      <div className="cards">
        <div className="card">
          <div className="label">Release</div>
          <div className="num">{info.currentRelease === 0 ? "—" : `v${info.currentRelease}`}</div>
          <div className="muted app-ellipsis">{rel?.description ?? "not deployed yet"}</div>
        </div>
        <div className="card">
          <div className="label">Last deploy</div>
          <div className="num">
            {info.deploy === undefined ? "—" : <Badge state={info.deploy.status} />}
          </div>
          <div className="muted">
            {info.deploy === undefined ? (
              "none yet"
            ) : (
              <Time at={info.deploy.finishedAt ?? info.deploy.startedAt} />
            )}
          </div>
        </div>
        <div className="card">
          <div className="label">Instances</div>
          {ps.data === undefined ? (
            <div className="num muted">…</div>
          ) : (
            <InstancesCard ps={ps.data} />
          )}
        </div>
        <div className="card">
          <div className="label">Formation</div>
          <div className="num app-formation">
            {Object.entries(info.formation)
              .map(([t, n]) => `${t}=${n}`)
              .join(" ") || "—"}
          </div>
          {info.pinned === undefined ? null : (
            <div className="muted">pinned to v{info.pinned.release} by a rollback</div>
          )}
        </div>
      </div>
      <h2>Deploy</h2>
      {!hasRelease ? (
        <p className="empty">
          Nothing deployed yet: push to <code>{info.gitUrl}</code>.
        </p>
      ) : deploy.data === undefined || ps.data === undefined ? (
        <Pending live={deploy.error === undefined ? ps : deploy} rows={3} />
      ) : (
        <DeployProgress deploy={deploy.data} ps={ps.data} />
      )}
    </>
  );
}

function DeployProgress(props: { deploy: DeployView; ps: PsEntry[] }) {
  const { deploy } = props;
  const p = progressOf(deploy, props.ps);
  const running = deploy.status === "running" || deploy.status === "pending";
  return (
    <div
      className="panel app-deploy"
      data-testid="deploy-progress"
      data-status={deploy.status}
      aria-live="polite"
    >
      <div className="app-deploy-head">
        <strong>
          {deploy.previous === 0
            ? `v${deploy.release} (first deploy)`
            : `v${deploy.previous} → v${deploy.release}`}
        </strong>
        <Badge state={deploy.status} />
        <span className="muted">
          <Time at={deploy.finishedAt ?? deploy.startedAt} />
        </span>
      </div>
      <dl className="kv-list">
        <dt>Step</dt>
        <dd data-testid="deploy-step">{p.step}</dd>
        <dt>New (v{deploy.release})</dt>
        <dd data-testid="deploy-new">
          {p.newHealthy}/{p.newTotal} healthy
        </dd>
        <dt>Old</dt>
        <dd data-testid="deploy-old">
          {running
            ? `${p.oldHealthy}/${p.oldTotal} healthy`
            : p.oldTotal === 0
              ? "gone"
              : `${p.oldTotal} left`}
        </dd>
        {deploy.error === undefined ? null : (
          <>
            <dt>Error</dt>
            <dd className="app-error">{deploy.error}</dd>
          </>
        )}
      </dl>
      {deploy.log.length === 0 ? null : (
        <details className="app-deploy-log">
          <summary>Progress log ({deploy.log.length} lines)</summary>
          <pre>{deploy.log.join("\n")}</pre>
        </details>
      )}
    </div>
  );
}

function InstancesCard(props: { ps: PsEntry[] }) {
  const parts = summary(props.ps);
  const up = parts.reduce((n, p) => n + p.up, 0);
  const all = parts.reduce((n, p) => n + p.all, 0);
  const draining = props.ps.filter((p) => p.kind === "run" && p.desired === "draining").length;
  return (
    <>
      <div className="num">
        {up}
        <span className="muted app-of"> / {all}</span>
      </div>
      <div className="muted">
        {parts.map((s) => `${s.type} ${s.up}/${s.all}`).join(" · ") || "none"}
        {draining === 0 ? "" : ` · ${draining} draining`}
      </div>
    </>
  );
}
