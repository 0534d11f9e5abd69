/**
 * Servers joining a cluster (issue 16), on a real three-member etcd with a real API server on it
 * over HTTPS (its CA made in a temporary data dir): a server join token made through the API, a
 * join that adds a learner (the answer's initial cluster, CA and config key), a second join
 * refused while that learner is pending, a learner that never started replaced once older than
 * the limit, a real extra etcd started from the answer promoted to voter, a silent voter removed
 * so a joiner takes its place (its promotion then stops when aborted, and ends once it is
 * removed), and the refusals (another cluster's token, an agent's token).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JoinTokens } from "../src/api/join-tokens.js";
import { createApiServer, type ApiServer } from "../src/api/server.js";
import { newSecret } from "../src/api/tokens.js";
import { secretKeyPath } from "../src/apps/secrets.js";
import { requestJoin, type JoinAnswer } from "../src/cluster/join.js";
import { Membership } from "../src/cluster/membership.js";
import { promoteWhenCaughtUp } from "../src/cluster/promote.js";
import { isGantryError } from "../src/errors.js";
import { formatJoinToken } from "../src/model/join-token.js";
import { learnerKey, LEARNERS_PREFIX } from "../src/model/learner.js";
import { K } from "../src/model/keys.js";
import { openEtcdStore } from "../src/store/etcd/index.js";
import type { Store } from "../src/store/index.js";
import { ensureClusterCa, type ClusterCa } from "../src/tls/ca.js";
import { apiCertNames, ensureServerCertificate } from "../src/tls/server-cert.js";
import { killOnExit } from "./helpers/children.js";
import { ETCD_BIN, startEtcdCluster, type EtcdCluster } from "./helpers/etcd.js";
import { freePort } from "./helpers/ports.js";

let etcd: EtcdCluster;
let store: Store;
let membership: Membership;
let api: ApiServer;
let ca: ClusterCa;
let url: string;
let admin: string;
const dir = mkdtempSync(join(tmpdir(), "gantry-cluster-join-"));
const extra: ChildProcess[] = [];
const apiLog: string[] = [];

beforeAll(async () => {
  etcd = await startEtcdCluster(3);
  store = await openEtcdStore({ endpoints: etcd.endpoints });
  ca = await ensureClusterCa(dir);
  const cert = await ensureServerCertificate(dir, ca, apiCertNames("127.0.0.1"));
  api = await createApiServer({
    store,
    dataDir: dir,
    tls: { cert: cert.certPem, key: cert.keyPem },
    log: (l) => apiLog.push(l),
  });
  membership = new Membership(etcd.endpoints);
  api.deps.cluster = { membership };
  admin = newSecret();
  await api.deps.tokens.create("admin", [{ admin: true }], "test", admin);
  const addr = await api.listen("127.0.0.1", 0);
  url = `https://127.0.0.1:${addr.port}`;
}, 60_000);

afterAll(async () => {
  for (const p of extra) p.kill("SIGKILL");
  await api?.close();
  membership?.close();
  await store?.close();
  await etcd?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** POST to the API over HTTPS (verified against the cluster CA) with the admin token. */
function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: "POST",
        ca: ca.certPem,
        headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

async function serverToken(uses?: number): Promise<string> {
  // Right after a member was killed (perhaps the leader) a write may answer 503 unavailable
  // (its outcome unknown while etcd elects): a client tries again, as this one does.
  let r = await post("/v1/join-tokens", { server: true, ...(uses ? { uses } : {}) });
  for (let i = 0; r.status === 503 && i < 50; i++) {
    await new Promise((res) => setTimeout(res, 200));
    r = await post("/v1/join-tokens", { server: true, ...(uses ? { uses } : {}) });
  }
  expect(r.status).toBe(201);
  const t = r.json as { token: string; kind: string };
  expect(t.kind).toBe("server");
  return t.token;
}

/** The error a promise fails with ({code, message}); fails the test when it does not fail. */
async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isGantryError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected the join to fail");
}

const peer = async (): Promise<string> => `http://127.0.0.1:${await freePort("127.0.0.1")}`;

/** A real etcd started from a join answer (initial cluster state existing). */
async function startJoined(name: string, peerUrl: string, a: JoinAnswer): Promise<string> {
  const clientUrl = `http://127.0.0.1:${await freePort("127.0.0.1")}`;
  const log = openSync(join(dir, `${name}.log`), "a");
  const child = spawn(
    ETCD_BIN,
    [
      `--name=${name}`,
      `--data-dir=${join(dir, `${name}.etcd`)}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${a.initialCluster}`,
      "--initial-cluster-state=existing",
      "--heartbeat-interval=50",
      "--election-timeout=500",
    ],
    { stdio: ["ignore", log, log] },
  );
  closeSync(log);
  killOnExit(child);
  extra.push(child);
  return clientUrl;
}

describe("a server joins with a server join token", () => {
  let first: JoinAnswer;
  let firstPeer: string;

  it("refuses another cluster's token before sending it, and an agent's token naming what to make", async () => {
    const token = await serverToken();
    const other = token.replace(/^K10[0-9a-f]{4}/, "K10ffff");
    const wrong = await failure(requestJoin(url, other, { name: "s4", peerUrl: await peer() }));
    expect(wrong.code).toBe("wrong_cluster");
    expect(wrong.message).toMatch(
      new RegExp(
        `^this join token belongs to another cluster \\(CA sha256 ffff.*\\), not the one at ${url}`,
      ),
    );
    const agent = await new JoinTokens(store).create({ labels: {} }, "test");
    const agentToken = formatJoinToken({
      caHash: ca.hash,
      id: agent.record.id,
      secret: agent.secret,
    });
    const refused = await failure(
      requestJoin(url, agentToken, { name: "s4", peerUrl: await peer() }),
    );
    expect(refused.code).toBe("join_refused");
    expect(refused.message).toMatch(/is for agents .*gantry join-tokens create --server$/);
    expect((await membership.list()).length).toBe(3);
  });

  it("adds a learner and answers with the initial cluster, endpoints, CA with key and config key", async () => {
    firstPeer = await peer();
    first = await requestJoin(url, await serverToken(1), { name: "s4", peerUrl: firstPeer });
    const members = await membership.list();
    const learner = members.find((m) => m.id === first.memberId)!;
    expect(learner).toMatchObject({ isLearner: true, peerUrls: [firstPeer], name: "" });
    expect(first.initialCluster.split(",").sort()).toEqual(
      [...etcd.members.map((m) => `${m.name}=${m.peerUrl}`), `s4=${firstPeer}`].sort(),
    );
    expect(first.endpoints.sort()).toEqual([...etcd.endpoints].sort());
    expect(first.caCertPem).toBe(ca.certPem);
    expect(first.caKeyPem).toBe(ca.keyPem);
    expect(first.secretKey).toBe(readFileSync(secretKeyPath(dir), "utf8").trim());
    expect(first.clusterId).toMatch(/^\d+$/);
    const rec = await store.get(learnerKey(first.memberId));
    expect(JSON.parse(String(rec?.value && Buffer.from(rec.value)))).toMatchObject({
      name: "s4",
      peerUrl: firstPeer,
    });
    const audit = await store.range({ prefix: K.audit });
    expect(audit.kvs.map((kv) => Buffer.from(kv.value).toString())).toContainEqual(
      expect.stringMatching(/"server\.join".*s4 \(member \d+\)/),
    );
  });

  it("refuses a second join while that learner is pending", async () => {
    const r = await failure(
      requestJoin(url, await serverToken(), { name: "s5", peerUrl: await peer() }),
    );
    expect(r.code).toBe("learner_pending");
    expect(r.message).toMatch(
      /^server s4 is still joining as a learner \(added \d+s ago\); join again once it is promoted \(see gantry servers\)$/,
    );
  });

  let second: JoinAnswer;
  let secondPeer: string;
  it("replaces a learner that never started once it is older than the limit; the new member becomes a voter when its etcd has caught up", async () => {
    // The first joiner never started: make its record 31 s old rather than wait.
    await store.put(
      learnerKey(first.memberId),
      JSON.stringify({
        name: "s4",
        peerUrl: firstPeer,
        addedAt: new Date(Date.now() - 31_000).toISOString(),
      }),
    );
    secondPeer = await peer();
    second = await requestJoin(url, await serverToken(), { name: "s5", peerUrl: secondPeer });
    const ids = (await membership.list()).map((m) => m.id);
    expect(ids).not.toContain(first.memberId);
    expect(ids).toContain(second.memberId);
    expect(await store.get(learnerKey(first.memberId))).toBeUndefined();

    await startJoined("s5", secondPeer, second);
    const lines: string[] = [];
    const started = Date.now();
    const outcome = await promoteWhenCaughtUp(
      membership,
      second.memberId,
      AbortSignal.timeout(20_000),
      (l) => lines.push(l),
      store,
    );
    expect(outcome, lines.join("\n")).toBe("promoted");
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(lines).toContain("server s5 promoted to voter");
    const s5 = (await membership.list()).find((m) => m.id === second.memberId)!;
    expect(s5).toMatchObject({ isLearner: false, name: "s5" });
    expect((await store.range({ prefix: LEARNERS_PREFIX })).kvs).toEqual([]);
  }, 40_000);

  it("a voter that does not answer is removed first, and the joiner takes its place", async () => {
    const dead = etcd.members[2]!;
    await dead.kill();
    const deadId = (await membership.list()).find((m) => m.name === dead.name)!.id;
    const a = await requestJoin(url, await serverToken(), {
      name: dead.name,
      peerUrl: await peer(),
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${apiLog.join("\n")}`);
    });
    const members = await membership.list();
    expect(members.map((m) => m.id)).not.toContain(deadId);
    expect(members.find((m) => m.id === a.memberId)).toMatchObject({ isLearner: true });
    expect(a.initialCluster).toContain(`s5=${secondPeer}`);
    expect(a.initialCluster).not.toContain(dead.peerUrl);

    // Its etcd never starts: promotion keeps being refused until the caller stops.
    const lines: string[] = [];
    const start = Date.now();
    const stopped = await promoteWhenCaughtUp(
      membership,
      a.memberId,
      AbortSignal.timeout(1200),
      (l) => lines.push(l),
      store,
    );
    expect(stopped).toBe("aborted");
    expect(Date.now() - start).toBeLessThan(3000);
    expect(lines).toEqual([]);
    expect(await store.get(learnerKey(a.memberId))).toBeDefined();
    // A learner removed meanwhile: promotion ends, and so does its record.
    await membership.remove(a.memberId);
    const gone = await promoteWhenCaughtUp(
      membership,
      a.memberId,
      // Generous: each ask may wait for the dead member's endpoint on a loaded machine.
      AbortSignal.timeout(20_000),
      (l) => lines.push(l),
      store,
    );
    expect(gone, lines.join("\n")).toBe("removed");
    expect(await store.get(learnerKey(a.memberId))).toBeUndefined();
  }, 60_000);
});
