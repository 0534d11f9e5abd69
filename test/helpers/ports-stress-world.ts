/**
 * The world of test/agent-ports-stress.slow.test.ts, run by it inside a network namespace of its
 * own (`node --import tsx`): an API server, one agent and its instances, and a loopback churn,
 * all sharing that namespace's TCP stack. Starts `starts` instances in batches, each of which
 * must run and answer on its port, then prints one line `RESULT {…}` (StressResult) and exits.
 *
 * argv[2]: JSON {starts, batch, oldPicker}. With oldPicker the agent picks ports as it did before
 * issue 19 (listen on port 0 of 127.0.0.1, close, hand it to the app): a way to see that the
 * test catches that regression.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent } from "../../src/agent/agent.js";
import { PortPool } from "../../src/agent/apps/ports.js";
import { GantryClient } from "../../src/client/client.js";
import type { Assignment } from "../../src/model/app.js";
import { agentPolicies } from "../../src/model/policies.js";
import {
  APP_FILES,
  assignment as newAssignment,
  deleteAssignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "./agent-fixture.js";
import { startTestApi, type TestApi } from "./api.js";
import { startChurn, type Churn, type ChurnStats } from "./churn.js";
import { netnsOf, netSysctl } from "./netns.js";
import { eventually } from "./paas.js";
import { appTarball, storeArtifact } from "./tarball.js";

export interface StressResult {
  netns: string;
  /** Instances started (fewer than asked when one never ran). */
  started: number;
  twReuse: string;
  ports: number[];
  /** Instances that restarted, moved, or did not answer on their port. */
  problems: string[];
  /** Agent log lines about exits and taken ports. */
  exits: string[];
  secs: number;
  churn: ChurnStats;
}

const NODE = "busy";
const APP = "many";

/** Binds every address, as most apps do (Node's listen(port), 0.0.0.0 in Heroku's guides). */
const WILD_JS = `
const http = require("node:http");
http.createServer((q, s) => s.end("hello hi from " + process.pid)).listen(Number(process.env.PORT));
process.on("SIGTERM", () => process.exit(0));
`;

/** The picker before issue 19: a port listen(0) got a moment ago, from the ephemeral range. */
function useOldPicker(): void {
  const listenZero = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
  PortPool.prototype.take = async function (this: PortPool, holder: string): Promise<number> {
    for (;;) {
      const port = await listenZero();
      if (this.allocator.hold(port, holder)) return port;
    }
  };
}

async function main(): Promise<void> {
  const { starts, batch, oldPicker } = JSON.parse(process.argv[2] ?? "{}") as {
    starts: number;
    batch: number;
    oldPicker?: boolean;
  };
  if (oldPicker === true) useOldPicker();
  let t: TestApi | undefined;
  let agent: Agent | undefined;
  let churn: Churn | undefined;
  const agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-stress-"));
  let cleaning: Promise<void> | undefined;
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      await churn?.stop();
      await agent?.stop({ stopInstances: true });
      await t?.close();
      rmSync(agentDir, { recursive: true, force: true });
    })());
  process.once("SIGTERM", () => void cleanUp().finally(() => process.exit(143)));
  // Bounded even when nobody is left to stop it (the test's own limit is 300 s).
  setTimeout(() => {
    process.stderr.write("stress world: out of time\n");
    void cleanUp().finally(() => process.exit(1));
  }, 290_000);
  try {
    t = await startTestApi();
    const api = t;
    const secret = (await api.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret;
    await seedApp(api, APP);
    const artifact = storeArtifact(api.dataDir, appTarball({ ...APP_FILES, "wild.js": WILD_JS }));
    const agentLog: string[] = [];
    agent = startAgent({
      client: new GantryClient({ addr: api.url, token: secret }),
      nodeName: NODE,
      dataDir: agentDir,
      wait: "5s",
      log: (l) => agentLog.push(l),
      runner: { stopGraceMs: 2000 },
    });
    await agent.joined;

    // To ::1: its TIME_WAIT ports are invisible to a bind on 127.0.0.1 (what listen(0) did) yet
    // taken for an app binding every address, as a host's other addresses' are. ~28,000 source
    // ports, each in TIME_WAIT for 60 s (tcp_tw_reuse=0 here): 1,000 a second use up the even
    // half in ~15 s; then connect() takes the odd ones bind(0) prefers.
    churn = startChurn({
      host: "::1",
      concurrency: 64,
      perSec: 1000,
      maxConns: 240_000,
      maxMs: 240_000,
    });
    const c = churn;
    await eventually("connect() taking odd ports", () => c.stats().odd > 0, 90_000);

    const problems: string[] = [];
    /** Start a batch; each must run and answer on its port. The ports of those that ran. */
    const one = async (list: Assignment[]): Promise<number[]> => {
      await Promise.all(list.map((a) => putAssignment(api, a)));
      const ports = await Promise.all(
        list.map(async (a) => {
          const s = await eventually(
            `${a.id} running`,
            async () => {
              const x = await instanceStatus(api, a.id);
              return x?.state === "running" ? x : undefined;
            },
            60_000,
          ).catch(async () => {
            const x = await instanceStatus(api, a.id);
            problems.push(`${a.id}: not running after 60 s (${x?.state}, ${x?.restarts} restarts)`);
            return undefined;
          });
          if (s === undefined) return [];
          if (s.restarts > 0) problems.push(`${a.id}: restarted ${s.restarts} times`);
          if (s.portMoved !== undefined) problems.push(`${a.id}: moved from ${s.portMoved.from}`);
          const body = await fetch(`http://127.0.0.1:${s.port}/`).then(
            (r) => r.text(),
            (err: unknown) => String((err as Error).cause ?? err),
          );
          if (!/^hello hi from \d+$/.test(body))
            problems.push(`${a.id} on port ${s.port}: ${body}`);
          return [s.port!];
        }),
      );
      await Promise.all(list.map((a) => deleteAssignment(api, a)));
      await eventually(
        "batch removed",
        () =>
          list.every((a) => agentLog.some((l) => l.includes(`removed ${a.id}`))) ? true : undefined,
        60_000,
      );
      return ports.flat();
    };

    const t0 = Date.now();
    const ports: number[] = [];
    let started = 0;
    // Until all have started, or a batch had one that never ran (no time for more such waits).
    while (started < starts && !problems.some((p) => p.includes("not running"))) {
      const list = Array.from({ length: batch }, (_, i) =>
        newAssignment(APP, NODE, artifact, { index: started + i + 1, command: "node wild.js" }),
      );
      ports.push(...(await one(list)));
      started += batch;
    }
    const secs = (Date.now() - t0) / 1000;
    const result: StressResult = {
      netns: netnsOf(),
      started,
      twReuse: netSysctl("net.ipv4.tcp_tw_reuse"),
      ports,
      problems,
      exits: agentLog.filter((l) => /exited with|was taken by another program/.test(l)),
      secs,
      churn: await churn.stop(),
    };
    churn = undefined;
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`stress world: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
