/**
 * `npm run bench:pipeline` — delivery (issue 15), in one run on a fresh `gantry up`:
 *
 * - promote: a pipeline `shop` (staging=shop-staging, production=shop); each round pushes a new
 *   commit to staging (not timed), then times `gantry pipelines:promote shop-staging` as a whole
 *   CLI process from its start until the router answers production's URL with that commit's
 *   marker (no rebuild: the same artifact, production's own config). Median of BENCH_ROUNDS.
 * - review-app: with review apps on, `git push origin <branch>` of a new branch to the staging
 *   app, timed from the start of the push until the review app's URL answers with the branch's
 *   marker (the app is created, built, released and routed). Median of BENCH_ROUNDS.
 * - cron-late-p99: a job every second (`* * * * * *`) for BENCH_CRON_SECONDS (its last 50 runs
 *   are kept); lateness = when its one-off's process started (the agent's `startedAt`) minus
 *   the tick it ran for; p99.
 *
 * No peer runs offline beside it; the anchors: Heroku promotes "in seconds" by copying the slug,
 * Kubernetes' CronJob controller checks its schedules every 10 s. Targets: promote <= 1 s,
 * review app <= 3 s, cron lateness p99 <= 1,000 ms. Gantry runs from dist/ (`npm run build`
 * first). The last line is the summary.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGantry, type GantryProcess } from "../test/helpers/gantry.js";
import {
  commitFile,
  get,
  git,
  localRepo,
  routerPort,
  stopGantry,
  withToken,
} from "../test/helpers/paas.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const CRON_SECONDS = Number(process.env["BENCH_CRON_SECONDS"] ?? 40);

/** A dependency-free web app that answers with the marker committed beside it. */
const APP_FILES: Record<string, string> = {
  Procfile: "web: node server.js\n",
  "package.json": JSON.stringify({ name: "shop", version: "1.0.0", private: true }) + "\n",
  "server.js": `import { createServer } from "node:http";
import { readFileSync } from "node:fs";
const marker = readFileSync(new URL("./marker.txt", import.meta.url), "utf8").trim();
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(marker + " " + (process.env.STAGE ?? "") + "\\n");
});
server.listen(Number(process.env.PORT));
process.on("SIGTERM", () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`,
  "marker.txt": "m0\n",
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

async function must(g: GantryProcess, args: string[]): Promise<string> {
  const r = await g.cli(args, { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`gantry ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Poll the router every 10 ms until `host` answers 200 with `marker`; the time it did. */
async function servedAt(port: number, host: string, marker: string, ms = 60_000): Promise<number> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const a = await get(port, host).catch(() => undefined);
    if (a?.status === 200 && a.body.startsWith(marker + " ")) return performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${host} never answered with ${marker}`);
}

async function api<T>(g: GantryProcess, path: string): Promise<T> {
  const res = await fetch(`${g.url}${path}`, { headers: { authorization: `Bearer ${g.token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function promote(g: GantryProcess, port: number, repo: string, url: string) {
  const times: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const marker = `p${i}`;
    await commitFile(repo, "marker.txt", marker + "\n");
    const pushed = await git(["push", "--force", url, "main"], repo);
    if (pushed.code !== 0) throw new Error(`push to shop-staging: ${pushed.stderr}`);
    await servedAt(port, "shop-staging.localhost", marker);
    const t0 = performance.now();
    const r = g.cli(["pipelines:promote", "shop-staging"], { timeoutMs: 60_000 });
    const at = await servedAt(port, "shop.localhost", marker);
    const done = await r;
    if (done.code !== 0) throw new Error(`promote: ${done.stdout}${done.stderr}`);
    times.push(at - t0);
    console.log(`promote ${i}: ${((at - t0) / 1000).toFixed(2)} s`);
  }
  return median(times);
}

async function reviewApps(port: number, repo: string, url: string) {
  const times: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const branch = `feature-${i}`;
    await git(["checkout", "-q", "-b", branch, "main"], repo);
    const marker = `r${i}`;
    await commitFile(repo, "marker.txt", marker + "\n");
    const t0 = performance.now();
    const pushed = git(["push", "--force", url, branch], repo);
    const reviewApp = await reviewName(repo, branch);
    const at = await servedAt(port, `${reviewApp}.localhost`, marker);
    const p = await pushed;
    if (p.code !== 0) throw new Error(`push of ${branch}: ${p.stderr}`);
    await git(["checkout", "-q", "main"], repo);
    times.push(at - t0);
    console.log(`review app ${i} (${reviewApp}): ${((at - t0) / 1000).toFixed(2)} s`);
  }
  return median(times);
}

/** The review app's name as the platform derives it (short names are `<pipeline>-<branch>`). */
async function reviewName(_repo: string, branch: string): Promise<string> {
  return `shop-${branch}`;
}

interface CronRun {
  tick: string;
  status: string;
  /** When the clock wrote its assignment, and when the agent started its process. */
  assignedAt?: string;
  startedAt?: string;
}

async function cronLateness(g: GantryProcess): Promise<number[]> {
  await must(g, ["cron:add", "shop", "* * * * * *", "--name", "tick", "--overlap", "--", "true"]);
  await new Promise((r) => setTimeout(r, CRON_SECONDS * 1000));
  // Read the history before removing the job (its runs go with it); the newest may be starting.
  const { runs } = await api<{ runs: CronRun[] }>(g, "/v1/apps/shop/cron/tick/runs");
  await must(g, ["cron:remove", "shop", "tick"]);
  const late = runs
    .filter((r) => r.startedAt !== undefined)
    .map((r) => Date.parse(r.startedAt!) - Date.parse(r.tick));
  if (late.length < CRON_SECONDS / 2)
    throw new Error(`only ${late.length} cron runs started in ${CRON_SECONDS} s`);
  return late;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "bench-pipeline-"));
  const g = await startGantry({});
  try {
    const port = await routerPort(g);
    for (const app of ["shop-staging", "shop"]) await must(g, ["apps:create", app]);
    await must(g, ["config:set", "shop-staging", "STAGE=staging"]);
    await must(g, ["config:set", "shop", "STAGE=production"]);
    await must(g, [
      "pipelines:create",
      "shop",
      "--stage",
      "staging=shop-staging",
      "--stage",
      "production=shop",
      "--review-apps",
    ]);
    const repo = await localRepo(work, APP_FILES);
    const info = JSON.parse(await must(g, ["apps:info", "shop-staging", "--json"])) as {
      gitUrl: string;
    };
    const url = withToken(info.gitUrl, g.token);
    const promoteMs = await promote(g, port, repo, url);
    const reviewMs = await reviewApps(port, repo, url);
    const late = await cronLateness(g);
    console.log(
      `cron: ${late.length} runs, lateness p50 ${median(late)} ms, p99 ${pct(late, 99)} ms, max ${Math.max(...late)} ms`,
    );
    console.log(
      `pipeline: promote=${(promoteMs / 1000).toFixed(2)}s review-app=${(reviewMs / 1000).toFixed(2)}s cron-late-p99=${pct(late, 99)}ms`,
    );
  } finally {
    await stopGantry(g);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
