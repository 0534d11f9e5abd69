/** The tables of `gantry pipelines` and `gantry reviews` (src/cli/pipelines.ts). */
import type { PipelineStatus, StageStatus } from "../apps/pipeline-status.js";
import type { ReviewView } from "../client/pipelines.js";
import { formatStaleAfter } from "../model/pipeline.js";
import { colours, table, type Output } from "../output/output.js";

const short = (s: StageStatus): string =>
  s.image !== undefined
    ? s.image.replace(/^.*@sha256:/, "sha256:").slice(0, 19)
    : (s.artifact?.slice(0, 12) ?? "-");

/** `behind` / `in sync` / `-` for the first stage. */
function syncWord(o: Output, s: StageStatus, prev: StageStatus | undefined): string {
  if (s.missing === true) return colours(o).red("app missing");
  if (prev === undefined || s.behind === undefined) return "-";
  return s.behind
    ? colours(o).red(`behind ${prev.name}`)
    : colours(o).green(`in sync with ${prev.name}`);
}

/** `gantry pipelines`: one line per pipeline. */
export function showPipelines(o: Output, list: readonly PipelineStatus[]): void {
  table(
    o,
    ["PIPELINE", "STAGES", "REVIEW APPS", "REQUIRES", "STATUS"],
    list.map((p) => {
      const behind = p.stages.filter((s) => s.behind === true).map((s) => s.name);
      return [
        p.name,
        p.stages.map((s) => `${s.name}=${s.app}`).join(" → "),
        p.reviewApps?.enabled === true
          ? `on (stale after ${formatStaleAfter(p.reviewApps.staleAfterMs)})`
          : "off",
        requires(p) || "-",
        behind.length === 0 ? "in sync" : `${behind.join(", ")} behind`,
      ];
    }),
    "(no pipelines: make one with gantry pipelines:create NAME --stage staging=APP1 --stage production=APP2)",
  );
}

const requires = (p: PipelineStatus): string =>
  [...(p.requireTests ? ["tests"] : []), ...p.requiredConfig].join(", ");

/** `gantry pipelines NAME`: its settings, then each stage's release and whether it is behind. */
export function showPipeline(o: Output, p: PipelineStatus): void {
  const r = p.reviewApps;
  const lines: [string, string][] = [
    ["pipeline", p.name],
    [
      "review apps",
      r?.enabled === true
        ? `on, destroyed after ${formatStaleAfter(r.staleAfterMs)} untouched${r.configNames.length > 0 ? `; overrides ${r.configNames.join(", ")}` : ""}`
        : "off",
    ],
    ["promotion", requires(p) === "" ? "no requirements" : `requires ${requires(p)}`],
  ];
  for (const [k, v] of lines) o.out(`${`${k}:`.padEnd(13)}${v}`);
  o.out("");
  table(
    o,
    ["STAGE", "APP", "RELEASE", "CODE", "PROMOTED FROM", "STATUS"],
    p.stages.map((s, i) => [
      s.name,
      s.app,
      s.release === 0 ? "-" : `v${s.release}`,
      short(s),
      s.promotedFrom === undefined ? "-" : `${s.promotedFrom.app} v${s.promotedFrom.version}`,
      syncWord(o, s, p.stages[i - 1]),
    ]),
  );
}

/** `gantry reviews APP`. */
export function showReviews(
  o: Output,
  app: string,
  enabled: boolean,
  list: readonly ReviewView[],
): void {
  if (!enabled && list.length === 0) {
    o.out(
      `${app} has no review apps: its pipeline has them off (gantry pipelines:update NAME --review-apps)`,
    );
    return;
  }
  table(
    o,
    ["REVIEW APP", "BRANCH", "COMMIT", "RELEASE", "URL", "UPDATED", "DESTROYED AFTER"],
    list.map((r) => [
      r.app,
      r.branch,
      r.commit?.slice(0, 12) ?? "-",
      r.release === 0 ? "-" : `v${r.release}`,
      r.url,
      r.updatedAt.replace("T", " ").slice(0, 19),
      r.staleAt.replace("T", " ").slice(0, 19),
    ]),
    `(no review apps: push a branch other than main to ${app})`,
  );
}
