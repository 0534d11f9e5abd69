/**
 * A server that runs its own etcd (k3s's embedded-etcd idea, with Debian's etcd as a supervised
 * child): start the member this data directory holds — a new cluster, a join, a restart or a
 * forced one-member cluster (see cluster-mode.ts) — and say where the store is.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { secretKeyPath } from "../apps/secrets.js";
import { caFiles } from "../tls/ca.js";
import {
  clusterMode,
  storeLocation,
  type ClusterMode,
  type ClusterOptions,
} from "./cluster-mode.js";
import { etcdUrl, type EtcdLaunch } from "./etcd-args.js";
import { launchEtcd, type SupervisedEtcd } from "./etcd-process.js";
import { ClusterDataDirError, EtcdStartError, ServerRemovedError } from "./errors.js";
import { readIdentity, writeIdentity, type ClusterIdentity } from "./identity.js";
import { knownClientUrls, waitForLeader, type LocalStatus } from "./local-status.js";
import { Membership } from "./membership.js";
import { promoteWhenCaughtUp } from "./promote.js";
import { parseEtcdEndpoints, type Store } from "../store/index.js";
import { EtcdStore } from "../store/etcd/index.js";
import { superviseEtcd } from "./supervise.js";

export type { ClusterOptions } from "./cluster-mode.js";

export interface ClusterStore {
  /** "etcd://own,others…" for openStore: this server's member first. */
  location: string;
  etcd: SupervisedEtcd;
  identity: ClusterIdentity;
  /** etcd's membership API on this cluster (the join route adds members through it). */
  membership: Membership;
  /** startServer opened its store: a learner's promotion starts (and drops its record). */
  storeOpened(store: Store): void;
  /** Stop what runs in the background (learner promotion) and then etcd. */
  stop(): Promise<void>;
}

/** How long a new or forced cluster may take to elect its (only) member. */
const LEADER_TIMEOUT_MS = 15_000;
/** A restarted member waits this long for the others; then the server starts read-only. */
const RESTART_LEADER_MS = 10_000;

/** Whether the data directory belongs to a cluster (a start without flags restarts its member). */
export const hasCluster = (dataDir: string): boolean => readIdentity(dataDir) !== undefined;

/** `--store` on a data directory whose store is its own etcd: refused, naming the flag. */
export function refuseStoreFlag(dataDir: string): void {
  const id = readIdentity(dataDir);
  throw new ClusterDataDirError(
    `${dataDir} belongs to cluster ${id?.clusterId ?? "?"} (server ${id?.name ?? "?"}), whose store is this server's own etcd: drop --store`,
  );
}

/** ServerRemovedError when the cluster's etcd has stopped for good as a removed member. */
export async function removedError(c: ClusterStore): Promise<ServerRemovedError | undefined> {
  const exit = await Promise.race([c.etcd.exited, Promise.resolve(undefined)]);
  return exit?.removed === true ? new ServerRemovedError() : undefined;
}

export async function startClusterStore(
  dataDir: string,
  o: ClusterOptions,
  log: (line: string) => void,
): Promise<ClusterStore> {
  const dir = join(dataDir, "etcd");
  const mode = clusterMode(o, dataDir, {
    identity: readIdentity(dataDir),
    etcdData: existsSync(dir),
  });
  const base = (id?: ClusterIdentity): EtcdLaunch => ({
    dir,
    name: id?.name ?? o.name,
    peerUrl: id?.peerUrl ?? etcdUrl(o.peerAddr),
    clientUrl: id?.clientUrl ?? etcdUrl(o.clientAddr),
    log,
  });
  const started = await startMember(mode, base, dataDir, log);
  const { launch, first, status } = started;
  // Started again after a crash, a member may wait as long as its cluster lacks a majority.
  const etcd = superviseEtcd(first, {
    relaunch: (signal) => launchEtcd({ ...launch, startTimeoutMs: Infinity, signal }),
    log,
  });
  try {
    const identity: ClusterIdentity = {
      clusterId: status.clusterId,
      memberId: status.memberId,
      name: launch.name,
      peerUrl: launch.peerUrl,
      clientUrl: launch.clientUrl,
      createdAt:
        mode.kind === "restart" || mode.kind === "force"
          ? mode.identity.createdAt
          : new Date().toISOString(),
    };
    if (mode.kind !== "restart") writeIdentity(dataDir, identity);
    const others = (started.endpoints ?? (await knownClientUrls(launch.peerUrl))).filter(
      (u) => u !== launch.clientUrl,
    );
    // A learner refuses clients' requests (they move on to the next member): the store starts
    // on the other members and comes to its own once promoted; members that join later are
    // learned by the store (EtcdConnection.syncMembers), and the membership calls follow it.
    const location =
      status.isLearner && others.length > 0
        ? storeLocation(others[0]!, [...others, launch.clientUrl])
        : storeLocation(launch.clientUrl, others);
    let promotion: AbortController | undefined;
    let endpoints = (): readonly string[] => parseEtcdEndpoints(location);
    const membership = new Membership(() => endpoints());
    return {
      location,
      etcd,
      identity,
      membership,
      storeOpened: (store) => {
        if (store instanceof EtcdStore) endpoints = () => store.endpoints;
        if (status.isLearner && promotion === undefined)
          promotion = promoteInBackground(
            others.length > 0 ? others : [launch.clientUrl],
            identity,
            store,
            log,
          );
      },
      stop: async () => {
        promotion?.abort();
        membership.close();
        await etcd.stop();
      },
    };
  } catch (err) {
    await etcd.stop();
    throw err;
  }
}

interface Started {
  launch: EtcdLaunch;
  first: SupervisedEtcd;
  status: LocalStatus;
  /** The cluster's client URLs when the join said them. */
  endpoints?: string[];
}

async function startMember(
  mode: ClusterMode,
  base: (id?: ClusterIdentity) => EtcdLaunch,
  dataDir: string,
  log: (line: string) => void,
): Promise<Started> {
  switch (mode.kind) {
    case "init": {
      const launch = base();
      const first = await launchEtcd({
        ...launch,
        initial: { cluster: `${launch.name}=${launch.peerUrl}`, state: "new" },
      });
      log(`cluster: a new cluster with this server (${launch.name}) as its first member`);
      return { launch, first, status: await leaderOrFail(first, launch) };
    }
    case "join": {
      const launch = base();
      if (mode.wipe) {
        log(`cluster: removing ${launch.dir}, left by a join that did not finish`);
        rmSync(launch.dir, { recursive: true, force: true });
      }
      const { requestJoin } = await import("./join.js");
      const answer = await requestJoin(mode.url, mode.token, {
        name: launch.name,
        peerUrl: launch.peerUrl,
      });
      const ca = caFiles(dataDir);
      writeFileAtomic(ca.key, answer.caKeyPem, 0o600);
      writeFileAtomic(ca.cert, answer.caCertPem, 0o644);
      writeFileAtomic(secretKeyPath(dataDir), answer.secretKey.trim() + "\n", 0o600);
      log(
        `cluster: joining cluster ${answer.clusterId} as member ${answer.memberId} (a learner until it caught up)`,
      );
      const first = await launchEtcd({
        ...launch,
        initial: { cluster: answer.initialCluster, state: "existing" },
      });
      return {
        launch,
        first,
        status: await leaderOrFail(first, launch),
        endpoints: answer.endpoints,
      };
    }
    case "restart": {
      const launch = base(mode.identity);
      // It serves once a majority of the cluster's servers run: wait for them, however long.
      const first = await launchEtcd({ ...launch, startTimeoutMs: Infinity });
      const { status, leader } = await waitForLeader(
        launch.clientUrl,
        RESTART_LEADER_MS,
        () => first.pid === undefined,
      );
      if (first.pid === undefined) {
        // It answered, then learnt from its peers that it is no longer a member.
        if ((await first.exited).removed) throw new ServerRemovedError();
        throw new EtcdStartError(
          `etcd member ${launch.name} exited during start-up (see DATA_DIR/etcd.log)`,
        );
      }
      if (!leader)
        log(
          `cluster: etcd member ${launch.name} has no leader yet (too few servers of the cluster run); serving read-only until quorum returns`,
        );
      return { launch, first, status: status ?? fromIdentity(mode.identity) };
    }
    case "force": {
      const launch = base(mode.identity);
      const first = await launchEtcd({ ...launch, forceNewCluster: true });
      log(
        `cluster: --force-new-cluster: this server's etcd is now a one-member cluster with its data; every other server must wipe DATA_DIR/etcd and DATA_DIR/cluster.json and join again (gantry server --join URL --join-token T)`,
      );
      return { launch, first, status: await leaderOrFail(first, launch) };
    }
  }
}

async function leaderOrFail(first: SupervisedEtcd, l: EtcdLaunch): Promise<LocalStatus> {
  const { status, leader } = await waitForLeader(
    l.clientUrl,
    LEADER_TIMEOUT_MS,
    () => first.pid === undefined,
  );
  if (leader && status !== undefined) return status;
  await first.stop();
  if ((await first.exited).removed) throw new ServerRemovedError();
  throw new EtcdStartError(
    `etcd member ${l.name} found no leader within ${LEADER_TIMEOUT_MS / 1000} s (see ${join(l.dir, "..", "etcd.log")})`,
  );
}

const fromIdentity = (id: ClusterIdentity): LocalStatus => ({
  clusterId: id.clusterId,
  memberId: id.memberId,
  leader: "0",
  isLearner: false,
});

/** H2's learner promotion (promote.ts), in the background until the member is a voter. */
function promoteInBackground(
  endpoints: string[],
  id: ClusterIdentity,
  store: Store,
  log: (line: string) => void,
): AbortController {
  const abort = new AbortController();
  const membership = new Membership(endpoints);
  void promoteWhenCaughtUp(membership, id.memberId, abort.signal, log, store).finally(() =>
    membership.close(),
  );
  return abort;
}
