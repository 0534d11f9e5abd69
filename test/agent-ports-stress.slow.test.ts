/**
 * Issue 19's proof for instance ports: 200 instance starts on one agent while short-lived TCP
 * connections churn the kernel's ephemeral ports → no bind failure, no crash restart.
 *
 * Ports picked by listening on port 0 (as the agent did before) come from the ephemeral range;
 * once the connections' TIME_WAIT ports fill its even half, connect() takes odd ports too, and an
 * app then finds its port taken (measured here: 559 of 1,500 wildcard binds failed). The agent's
 * own range (20000-32000) lies outside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../src/agent/agent.js";
import { DEFAULT_PORT_RANGE } from "../src/agent/apps/port-range.js";
import { GantryClient } from "../src/client/client.js";
import type { Assignment } from "../src/model/app.js";
import { agentPolicies } from "../src/server/up.js";
import {
  APP_FILES,
  assignment as newAssignment,
  deleteAssignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "./helpers/agent-fixture.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { ownAddresses, startChurn, type Churn } from "./helpers/churn.js";
import { eventually } from "./helpers/paas.js";
import { appTarball, storeArtifact } from "./helpers/tarball.js";

const NODE = "busy";
const APP = "many";
const STARTS = 200;
const BATCH = 20;

/** Binds every address, as most apps do (Node's listen(port), 0.0.0.0 in Heroku's guides). */
const WILD_JS = `
const http = require("node:http");
http.createServer((q, s) => s.end("hello hi from " + process.pid)).listen(Number(process.env.PORT));
process.on("SIGTERM", () => process.exit(0));
`;

let t: TestApi;
let agentDir: string;
let artifact: string;
let agent: Agent;
let churn: Churn | undefined;
const agentLog: string[] = [];

beforeAll(async () => {
  t = await startTestApi();
  agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-stress-"));
  const secret = (await t.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret;
  await seedApp(t, APP);
  artifact = storeArtifact(t.dataDir, appTarball({ ...APP_FILES, "wild.js": WILD_JS }));
  agent = startAgent({
    client: new GantryClient({ addr: t.url, token: secret }),
    nodeName: NODE,
    dataDir: agentDir,
    wait: "5s",
    log: (l) => agentLog.push(l),
    runner: { stopGraceMs: 2000 },
  });
  await agent.joined;
});

afterAll(async () => {
  await churn?.stop();
  await agent?.stop({ stopInstances: true });
  await t?.close();
  rmSync(agentDir, { recursive: true, force: true });
});

/** What went wrong with an instance: it restarted, moved, or did not answer on its port. */
const problems: string[] = [];

/** One batch: start them all, each must run and answer on its port; then remove them. */
async function batch(list: Assignment[]): Promise<number[]> {
  await Promise.all(list.map((a) => putAssignment(t, a)));
  const ports = await Promise.all(
    list.map(async (a) => {
      const s = await eventually(
        `${a.id} running`,
        async () => {
          const x = await instanceStatus(t, a.id);
          return x?.state === "running" ? x : undefined;
        },
        60_000,
      );
      if (s.restarts > 0) problems.push(`${a.id}: restarted ${s.restarts} times`);
      if (s.portMoved !== undefined) problems.push(`${a.id}: moved from ${s.portMoved.from}`);
      const body = await fetch(`http://127.0.0.1:${s.port}/`).then(
        (r) => r.text(),
        (err: unknown) => String((err as Error).cause ?? err),
      );
      if (!/^hello hi from \d+$/.test(body)) problems.push(`${a.id} on port ${s.port}: ${body}`);
      return s.port!;
    }),
  );
  await Promise.all(list.map((a) => deleteAssignment(t, a)));
  await eventually(
    "batch removed",
    () =>
      list.every((a) => agentLog.some((l) => l.includes(`removed ${a.id}`))) ? true : undefined,
    60_000,
  );
  return ports;
}

describe("200 instance starts under ephemeral port churn", () => {
  it("no bind failure, no crash restart", { timeout: 300_000 }, async () => {
    const hosts = ownAddresses();
    churn = startChurn({ hosts, concurrency: 96, maxConns: 150_000, maxMs: 240_000 });
    // Until the kernel hands out odd source ports (its even ones are all in TIME_WAIT), as long
    // as there is an address to do it with.
    const spill = hosts[1];
    if (spill !== undefined)
      await eventually(
        "connect() taking odd ports",
        () => (churn!.stats().odd[spill] ?? 0) > 0,
        90_000,
      );

    const t0 = Date.now();
    const ports: number[] = [];
    for (let done = 0; done < STARTS; done += BATCH)
      ports.push(
        ...(await batch(
          Array.from({ length: BATCH }, (_, i) =>
            newAssignment(APP, NODE, artifact, { index: done + i + 1, command: "node wild.js" }),
          ),
        )),
      );
    const secs = (Date.now() - t0) / 1000;
    const stats = await churn.stop();
    churn = undefined;

    const total = Object.values(stats.conns).reduce((a, b) => a + b, 0);
    const odd = Object.values(stats.odd).reduce((a, b) => a + b, 0);
    console.log(
      `${STARTS} starts in ${secs.toFixed(1)} s under ${total} connections (${odd} from odd source ports) to ${hosts.join(", ")}`,
    );
    expect(problems).toEqual([]);
    expect(ports).toHaveLength(STARTS);
    expect(ports.every((p) => p >= DEFAULT_PORT_RANGE.first && p <= DEFAULT_PORT_RANGE.last)).toBe(
      true,
    );
    expect(agentLog.filter((l) => /exited with|was taken by another program/.test(l))).toEqual([]);
    expect(total).toBeGreaterThan(10_000);
    if (spill !== undefined) expect(stats.odd[spill]).toBeGreaterThan(0);
  });
});
