/**
 * `npm run bench:containers` — containers in one run, Gantry beside raw Docker on the same engine,
 * the same Dockerfile and the same health check (issue 12):
 *
 * - raw docker: what a user scripts by hand with Debian's CLI (/usr/bin/docker, 20.10):
 *   `DOCKER_BUILDKIT=1 docker build`, `docker run -d --network host`, then GET / until the new
 *   body answers 200. Then the old container is removed.
 * - gantry: `git push` of the same Dockerfile into `gantry up`: BuildKit build, push to Gantry's
 *   registry, release, deploy to a container, health check, router — from the start of the push
 *   to the first 200 with the new body through the router.
 *   Both run with a warm cache (one unmeasured round first), then BENCH_ROUNDS measured rounds
 *   (default 3) that each change server.js, as a push of a change does; the figure is the median.
 * - bake-noop: `gantry images:bake` of examples/bake's web role on Gantry's base image, twice;
 *   the second (nothing changed: the image is reused) is timed as the user sees it, the whole CLI
 *   process from start to exit.
 *
 * Last line: `containers: push-to-serving=<s>s overhead-vs-docker=<s>s bake-noop=<s>s`.
 * Run `npm run build` first (it runs bin/gantry from dist/).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { dockerEngine } from "../src/docker/engine.js";
import { startGantry, type GantryProcess } from "../test/helpers/gantry.js";
import {
  commitFile,
  localRepo,
  routerPort,
  run,
  stopGantry,
  withToken,
} from "../test/helpers/paas.js";
import { freePort } from "../test/helpers/ports.js";

const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const DOCKER = "/usr/bin/docker";
const EXAMPLE_STATES = resolve(import.meta.dirname, "../examples/bake");

const server = (body: string): string =>
  [
    'const http = require("node:http");',
    `http.createServer((req, res) => res.end(${JSON.stringify(body)})).listen(Number(process.env.PORT));`,
    'process.on("SIGTERM", () => process.exit(0));',
  ].join("\n") + "\n";

const dockerfile = (base: string): string =>
  [`FROM ${base}`, "COPY server.js /app/server.js", 'CMD ["node", "/app/server.js"]', ""].join(
    "\n",
  );

async function must(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Awaited<ReturnType<typeof run>>> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

/** Status and body of GET / at 127.0.0.1:port with this Host (status 0 on an error). */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((res) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", headers: { host }, agent: false },
      (r) => {
        let body = "";
        r.setEncoding("utf8");
        r.on("data", (c: string) => (body += c));
        r.on("end", () => res({ status: r.statusCode ?? 0, body }));
      },
    );
    req.on("error", () => res({ status: 0, body: "" }));
    req.end();
  });
}

/** Poll every 20 ms until GET answers 200 with `body`; ms since `t0`. */
async function until(
  port: number,
  host: string,
  body: string,
  t0: number,
  limitMs = 120_000,
): Promise<number> {
  for (;;) {
    const a = await get(port, host);
    if (a.status === 200 && a.body === body) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`${host}:${port} never served "${body}"`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** Raw Docker: build, run, wait for the check; the previous container removed after. */
async function rawDocker(base: string, dir: string): Promise<number[]> {
  const env = { ...process.env, DOCKER_BUILDKIT: "1", HOME: dir };
  writeFileSync(join(dir, "Dockerfile"), dockerfile(base));
  const times: number[] = [];
  let previous: string | undefined;
  for (let round = 0; round <= ROUNDS; round++) {
    const body = `raw ${round}`;
    writeFileSync(join(dir, "server.js"), server(body));
    const port = await freePort();
    const t0 = performance.now();
    await must(DOCKER, ["build", "-q", "-t", `gantry-bench-raw:${round}`, dir], { env });
    const id = (
      await must(
        DOCKER,
        [
          "run",
          "-d",
          "--network",
          "host",
          "-e",
          `PORT=${port}`,
          "--label",
          "gantry.bench=1",
          `gantry-bench-raw:${round}`,
        ],
        { env },
      )
    ).stdout.trim();
    const ms = await until(port, "raw.localhost", body, t0);
    if (round > 0) times.push(ms);
    if (previous !== undefined) await run(DOCKER, ["rm", "-f", previous], { env });
    previous = id;
  }
  if (previous !== undefined) await run(DOCKER, ["rm", "-f", previous], { env });
  const tags = Array.from({ length: ROUNDS + 1 }, (_, i) => `gantry-bench-raw:${i}`);
  await run(DOCKER, ["rmi", "-f", ...tags], { env });
  return times;
}

/** Gantry: git push of the same Dockerfile, until the router serves the new body. */
async function gantryPushes(g: GantryProcess, base: string, work: string): Promise<number[]> {
  const routerAt = await routerPort(g);
  const app = "benchbox";
  const created = await g.cli(["apps:create", app, "--drain", "1s", "--json"]);
  if (created.code !== 0) throw new Error(created.stderr);
  const remote = withToken((JSON.parse(created.stdout) as { gitUrl: string }).gitUrl, g.token);
  const repo = await localRepo(work, {
    Dockerfile: dockerfile(base),
    "server.js": server("gantry 0"),
  });
  const times: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const body = `gantry ${round}`;
    if (round > 0) await commitFile(repo, "server.js", server(body));
    const t0 = performance.now();
    const pushed = run("git", ["push", "--force", remote, "main"], {
      cwd: repo,
      env: {
        PATH: process.env["PATH"],
        HOME: repo,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_TERMINAL_PROMPT: "0",
      },
    });
    const ms = await until(routerAt, `${app}.localhost`, body, t0);
    const p = await pushed;
    if (p.code !== 0) throw new Error(`push failed: ${p.stderr}`);
    if (round > 0) times.push(ms);
  }
  await g.cli(["apps:destroy", app, "--confirm", app]);
  return times;
}

/** The second of two identical bakes, as the user waits for it (the CLI process). */
async function bakeNoop(g: GantryProcess, base: string): Promise<number> {
  const args = [
    "images:bake",
    "bench",
    "--from",
    base,
    "--states",
    EXAMPLE_STATES,
    "--role",
    "web",
    "--json",
  ];
  const first = await g.cli(args, { timeoutMs: 300_000 });
  if (first.code !== 0) throw new Error(`bake failed: ${first.stderr || first.stdout}`);
  const t0 = performance.now();
  const again = await g.cli(args);
  const ms = performance.now() - t0;
  if (again.code !== 0) throw new Error(`bake failed: ${again.stderr || again.stdout}`);
  return ms;
}

async function main(): Promise<void> {
  const engine = dockerEngine();
  const base = await ensureBaseImage(engine);
  const work = mkdtempSync(join(tmpdir(), "gantry-bench-containers-"));
  const g = await startGantry({ args: ["--registry-addr", `127.0.0.1:${await freePort()}`] });
  try {
    const rawDir = mkdtempSync(join(work, "raw-"));
    const raw = await rawDocker(base, rawDir);
    const ours = await gantryPushes(g, base, work);
    const bake = await bakeNoop(g, base);
    const s = (ms: number): string => (ms / 1000).toFixed(2);
    console.log(
      `raw docker build+run+check: ${raw.map(s).join(" ")} s (median ${s(median(raw))} s)`,
    );
    console.log(
      `gantry push-to-serving:     ${ours.map(s).join(" ")} s (median ${s(median(ours))} s)`,
    );
    console.log(`no-op bake (CLI wall time): ${s(bake)} s`);
    console.log(
      `containers: push-to-serving=${s(median(ours))}s overhead-vs-docker=${s(median(ours) - median(raw))}s bake-noop=${s(bake)}s`,
    );
  } finally {
    await stopGantry(g);
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
