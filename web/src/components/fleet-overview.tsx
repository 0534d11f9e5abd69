import { Link } from "wouter";
import { Badge, Time } from "./bits";
import { lastDeployAt } from "./fleet-apps";
import type { AppRow, AppState, FailingCheck, ServiceRow } from "./fleet-types";
import { Empty } from "./page";

/** A card: a big number, what it counts, and the parts it breaks into. */
export function Card(props: {
  href: string;
  num: number | undefined;
  label: string;
  parts: { state: string; n: number }[];
  testId: string;
}) {
  return (
    <div className="card" data-testid={props.testId}>
      <Link href={props.href} className="card-link">
        <div className="num">{props.num ?? "…"}</div>
        <div className="label">{props.label}</div>
      </Link>
      <div className="parts">
        {props.parts
          .filter((p) => p.n > 0)
          .map((p) => (
            <Badge key={p.state} state={p.state} testId={`${props.testId}-${p.state}`}>
              {p.n} {p.state}
            </Badge>
          ))}
      </div>
    </div>
  );
}

const APP_STATES: AppState[] = [
  "running",
  "deploying",
  "starting",
  "crashed",
  "failed",
  "stopped",
  "new",
];

/** Apps per state, in a fixed order. */
export function appsByState(apps: readonly AppRow[]): { state: string; n: number }[] {
  const n = new Map<string, number>();
  for (const a of apps) {
    const s = a.status?.state ?? "new";
    n.set(s, (n.get(s) ?? 0) + 1);
  }
  return APP_STATES.map((state) => ({ state, n: n.get(state) ?? 0 }));
}

/** The most recent deploys (one per app: its last), newest first. */
export function RecentDeploys(props: { apps: readonly AppRow[]; limit?: number }) {
  const recent = props.apps
    .filter((a) => a.status?.deploy !== undefined)
    .sort((a, b) => (a.status!.deploy!.startedAt < b.status!.deploy!.startedAt ? 1 : -1))
    .slice(0, props.limit ?? 10);
  if (recent.length === 0) return <Empty>No deploys yet.</Empty>;
  return (
    <ul className="checks-list" data-testid="recent-deploys">
      {recent.map((a) => {
        const d = a.status!.deploy!;
        return (
          <li key={a.name} data-testid={`deploy-${a.name}`}>
            <Link href={`/apps/${encodeURIComponent(a.name)}`}>{a.name}</Link> v{d.release}{" "}
            <Badge state={d.status} /> <Time at={lastDeployAt(a)} />
          </li>
        );
      })}
    </ul>
  );
}

/** Every check that does not pass, with its service, instance, node and output. */
export function FailingChecks(props: { services: readonly ServiceRow[]; limit?: number }) {
  const all: (FailingCheck & { service: string })[] = props.services.flatMap((s) =>
    s.failing.map((f) => ({ ...f, service: s.name })),
  );
  if (all.length === 0) return <Empty>Every check passes.</Empty>;
  const shown = all.slice(0, props.limit ?? 20);
  return (
    <>
      <ul className="checks-list" data-testid="failing-checks">
        {shown.map((f) => (
          <li key={`${f.service}/${f.instance}/${f.check}`} data-testid="failing-check">
            <Badge state={f.status} /> <strong>{f.service}</strong> <code>{f.instance}</code>{" "}
            <span className="muted">on {f.node}</span> · {f.name || f.check}{" "}
            <span className="muted">
              since <Time at={f.since} />
            </span>
            {f.output === "" ? null : <pre className="svc-output">{f.output}</pre>}
          </li>
        ))}
      </ul>
      {all.length > shown.length ? (
        <p className="muted">
          and {all.length - shown.length} more on the <Link href="/services">services</Link> page
        </p>
      ) : null}
    </>
  );
}
