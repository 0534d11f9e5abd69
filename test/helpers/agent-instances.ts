/**
 * An agent's node against an in-process API server, for the agent-instances test files: the
 * server with the app seeded (its release and artifact written straight into the store and data
 * dir, as the deploy controller and the builder would), the agent's own client (which a test can
 * cut off from the server), and reads of what the agent made of its assignments.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startAgent, type Agent } from "../../src/agent/agent.js";
import { CatalogClient } from "../../src/client/catalog.js";
import { GantryClient } from "../../src/client/client.js";
import type { Assignment, InstanceStatus } from "../../src/model/app.js";
import { agentPolicies } from "../../src/model/policies.js";
import {
  assignment as newAssignment,
  deleteAssignment,
  instanceStatus,
  putAssignment,
  seedApp,
} from "./agent-fixture.js";
import { startTestApi, type TestApi } from "./api.js";

export const NODE = "box";
export const APP = "hello";
export const GRACE_MS = 1500;

// Live bindings: set by useAgentNode's beforeAll, read by the tests.
export let t: TestApi;
export let cat: CatalogClient;
export let agentDir: string;
export let artifact: string;
/** What the agent logged. */
export const agentLog: string[] = [];
/** Requests under way: cut when the test takes the agent offline, as a network failure would. */
export const inFlight = new Set<AbortController>();
let agentClient: GantryClient;

/** An agent for NODE over the agent's own client, logging to agentLog. */
export function newAgent(): Agent {
  return startAgent({
    client: agentClient,
    nodeName: NODE,
    dataDir: agentDir,
    wait: "2s",
    ttl: 5,
    log: (l) => agentLog.push(l),
    // Logs ship slowly here, so a test sees whether a one-off's output goes before its exit.
    runner: { stopGraceMs: GRACE_MS, tickMs: 200, logFlushMs: 1500 },
  });
}

/**
 * Start the server, seed the app and make the agent's client before this file's tests (the file
 * starts its agent with newAgent()); `offline` says when the client is cut off. After the tests
 * (and after the file's own afterAll, which stops its agent), close and remove them.
 */
export function useAgentNode(offline: () => boolean = () => false): void {
  beforeAll(async () => {
    t = await startTestApi();
    cat = new CatalogClient(t.admin);
    agentDir = mkdtempSync(join(tmpdir(), "gantry-agent-data-"));
    const secret = (await t.clientWith(agentPolicies(NODE), `agent-${NODE}`)).secret;
    // The agent's own client, which the test can cut off from the server.
    agentClient = new GantryClient({
      addr: t.url,
      token: secret,
      fetch: async (input, init) => {
        if (offline()) throw new TypeError("fetch failed (test: offline)");
        const cut = new AbortController();
        inFlight.add(cut);
        const signal = init?.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal;
        try {
          return await fetch(input, { ...init, signal });
        } catch (err) {
          throw cut.signal.aborted ? new TypeError("fetch failed (test: offline)") : err;
        } finally {
          inFlight.delete(cut);
        }
      },
    });
    process.env["AGENT_ONLY_SECRET"] = "must not leak into instances";
    ({ artifact } = await seedApp(t, APP));
  });

  afterAll(async () => {
    await t?.close();
    rmSync(agentDir, { recursive: true, force: true });
    delete process.env["AGENT_ONLY_SECRET"];
  });
}

/** An assignment of the app to NODE (the seeded artifact unless fields say otherwise). */
export const assignment = (fields: Partial<Assignment> = {}): Assignment =>
  newAssignment(APP, NODE, artifact, fields);
export const assign = (a: Assignment) => putAssignment(t, a);
export const unassign = (a: Assignment) => deleteAssignment(t, a);

/** The instance status the agent last reported for this id. */
export const status = (id: string) => instanceStatus(t, id);
/** A probe for eventually(): the status once the instance is in this state. */
export const inState =
  (id: string, state: InstanceStatus["state"], extra = (_s: InstanceStatus) => true) =>
  async () => {
    const s = await status(id);
    return s?.state === state && extra(s) ? s : undefined;
  };

/** The process exists and is not a zombie. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

/** Live processes that carry this instance id in their environment. */
export function processesOf(id: string): number[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          alive(Number(p)) &&
          readFileSync(`/proc/${p}/environ`, "utf8")
            .split("\0")
            .includes(`GANTRY_INSTANCE_ID=${id}`)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** GET a path from an instance on this port, as text. */
export async function get(port: number, path = "/"): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return res.text();
}

/** The app's shipped logs, as text. */
export async function appLogs(): Promise<string> {
  const res = await t.admin.request("GET", `/v1/apps/${APP}/logs`, { query: { tail: 10_000 } });
  return res.text();
}

/** The instance as the catalog lists it when its checks pass. */
export const passing = async (id: string) =>
  (await cat.service(APP, { passing: true })).value.find((i) => i.id === id);
