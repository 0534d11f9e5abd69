import type { AddressInfo } from "node:net";
import { Counter } from "prom-client";
import { createApiServer, type ApiServer } from "../api/server.js";
import type { AppService } from "../apps/service.js";
import { recoverInterruptedPushes } from "../apps/push-recovery.js";
import { startAcmeController, type AcmeOptions } from "../acme/controller.js";
import { startDeployController } from "../controllers/deploy.js";
import { startLeadership } from "../controllers/leader.js";
import { startReviewSweep } from "../api/review-sweep.js";
import { startConnectPoller } from "../api/connect-poller.js";
import { startCronController } from "../controllers/cron.js";
import { startPoolController } from "../controllers/pools.js";
import { JoinTokens } from "../api/join-tokens.js";
import { leadGitOps } from "../gitops/start.js";
import { startNotifications } from "../notify/start.js";
import { hashSecret } from "../api/tokens.js";
import { openStore, type Store } from "../store/index.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { dataFiles, ensureDataDir, loadOrCreateAdminSecret } from "./datadir.js";
import type { RegistryService } from "../registry/index.js";
import { poolCredentials } from "./pool-credentials.js";
import { poolProviders } from "./pool-providers.js";
import { startRegistry, type RegistryAddr } from "./registry.js";
import { ArtifactPeers, startArtifactSync } from "./artifact-peers.js";
import { apiTls, type ApiTls } from "./tls.js";
import { serverRecordFor, startServersPlane, type ServersPlane } from "../cluster/servers-plane.js";
import type { AutopilotConfig } from "../cluster/autopilot.js";
import { controllerId } from "../model/server.js";
import type { ClusterOptions, ClusterStore } from "../cluster/start.js";

export interface ServerOptions {
  dataDir: string;
  /** A store location (see openStore); default: the embedded store in the data dir. */
  store?: string;
  apiHost: string;
  apiPort: number;
  /** App host names are `<app>.<appDomain>` (default "localhost"). */
  appDomain?: string;
  /** The router's port, for app URLs (default 8080). */
  routerPort?: number;
  /** How often the deploy controller looks at every app without events (default 10 s). */
  deployResyncMs?: number;
  /**
   * How long a node may be gone (lease expired) before its instances start on live nodes (ms;
   * default 3 s: NODE_LOST_MS; `--node-grace`; docs/ha.md, "Failover").
   */
  nodeGraceMs?: number;
  /** Where Gantry's registry listens (default `<API host>:5000`); false: no registry. */
  registry?: RegistryAddr | false;
  /** Releases whose images retention keeps per app (default 5). */
  imageRetention?: number;
  /** Serve HTTPS with the cluster CA (default: when the API listens beyond 127.0.0.1/localhost). */
  tls?: boolean;
  /** Certificates by ACME for apps with custom domains (docs/security.md). */
  acme?: AcmeOptions;
  /** Node pools (docs/pools.md): how `local` nodes run gantry, how often pools are looked at. */
  pools?: {
    gantry?: string[];
    pollMs?: number;
    /** Where `ssh` pools keep nodes on their hosts (default /opt/gantry; relative: under $HOME). */
    sshRoot?: string;
  };
  /**
   * Run this server's own etcd (docs/ha.md, "Servers and their etcd"): `--cluster-init`,
   * `--join`, `--force-new-cluster`. A data directory with cluster.json restarts its member
   * without it. Implies `tls: true`.
   */
  cluster?: ClusterOptions;
  /** This server's name in `gantry servers` (default: its etcd member's, else `<host>:<API port>`). */
  name?: string;
  /** Dead-server cleanup on etcd (`--dead-server-cleanup`, `--min-servers`; docs/ha.md). */
  autopilot?: Partial<AutopilotConfig>;
  log?: (line: string) => void;
}

export interface RunningServer {
  store: Store;
  api: ApiServer;
  address: AddressInfo;
  url: string;
  adminToken: string;
  /** Gantry's registry, when docker-registry is installed and not turned off. */
  registry?: RegistryService;
  /** The cluster CA when the API serves HTTPS. */
  tls?: ApiTls;
  /** This server's own etcd, when it runs one; `cluster.etcd.exited` says when it is gone. */
  cluster?: ClusterStore;
  stop(): Promise<void>;
}

/**
 * Start the control plane: open the store, make sure the admin token from the data directory
 * exists in it, serve the API. `gantry up` adds the local agent and the router on top.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  ensureDataDir(opts.dataDir);
  const files = dataFiles(opts.dataDir);
  // Waits on etcd (a fetch whose socket undici unrefs, etcd's client's timers) do not keep the
  // process up: without this, a start whose etcd went away meanwhile (removed) ended silently.
  const hold = setInterval(() => undefined, 1_000);
  let cluster: ClusterStore | undefined;
  try {
    cluster = await startOwnEtcd(opts);
  } catch (err) {
    clearInterval(hold);
    throw err;
  }
  let store: Store;
  try {
    store = await openStore(cluster?.location ?? opts.store ?? files.store);
    cluster?.storeOpened(store);
  } catch (err) {
    clearInterval(hold);
    await cluster?.stop();
    throw await startFailure(cluster, err);
  }
  let api: ApiServer | undefined;
  let plane: ServersPlane | undefined;
  try {
    const tls = await apiTls(opts.dataDir, opts.apiHost, cluster === undefined ? opts.tls : true);
    api = await createApiServer({
      store,
      dataDir: opts.dataDir,
      ...(tls === undefined ? {} : { tls: { cert: tls.certPem, key: tls.keyPem } }),
      ...(opts.appDomain === undefined ? {} : { appDomain: opts.appDomain }),
      ...(opts.routerPort === undefined ? {} : { routerPort: opts.routerPort }),
      ...(opts.log ? { log: opts.log } : {}),
    });
    // The server join route adds members through it (docs/ha.md, "Joining a server").
    if (cluster !== undefined) api.deps.cluster = { membership: cluster.membership };
    const { secret } = loadOrCreateAdminSecret(opts.dataDir);
    // Bootstrap: the data directory's admin token must exist in the store (first run, or a
    // fresh etcd). It is matched by hash, so a token revoked by name is re-created only here.
    if (api.deps.tokens.authenticate(secret) === undefined) {
      const name =
        api.deps.tokens.find("admin") === undefined
          ? "admin"
          : `admin-${hashSecret(secret).slice(0, 8)}`;
      await api.deps.tokens.create(name, [{ admin: true }], "bootstrap", secret);
    }
    // Before it takes pushes and before its controllers deploy anything: what a push the last
    // run did not complete released goes (docs/apps.md, "An interrupted push").
    await recoverInterruptedPushes({
      store,
      audit: api.deps.audit,
      dataDir: opts.dataDir,
      say: opts.log ?? ((line) => process.stderr.write(line + "\n")),
      logs: (api.deps.apps as AppService).logs,
    });
    const address = await api.listen(opts.apiHost, opts.apiPort);
    const url = `${tls === undefined ? "http" : "https"}://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
    writeFileAtomic(files.apiAddr, url + "\n", 0o644);
    const running = api;
    const say = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
    // Artifacts built on another server (which may be gone) come from the servers that have them.
    const artifactSync = new AbortController();
    const peers = new ArtifactPeers({
      signal: artifactSync.signal,
      store,
      dataDir: opts.dataDir,
      selfUrl: url,
      token: secret,
      log: say,
    });
    api.deps.artifactPeers = peers;
    const artifactsSynced = startArtifactSync(peers, store, artifactSync.signal, say);
    // sys/servers/<name>, the members' prober, and (while leading) the dead-server autopilot.
    plane = startServersPlane({
      store,
      record: serverRecordFor({
        apiUrl: url,
        apiPort: address.port,
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(cluster === undefined ? {} : { member: cluster.identity }),
      }),
      audit: api.deps.audit,
      ...(opts.autopilot === undefined ? {} : { autopilot: opts.autopilot }),
      log: say,
    });
    const servers = plane;
    if (plane.prober !== undefined) api.deps.serverProber = plane.prober;
    const registry =
      opts.registry === false
        ? undefined
        : await startRegistry({
            dataDir: opts.dataDir,
            store,
            tokens: api.deps.tokens,
            apiUrl: url,
            addr: opts.registry ?? { host: opts.apiHost, port: 5000, explicit: false },
            ...(opts.imageRetention === undefined ? {} : { keepReleases: opts.imageRetention }),
            log: say,
          });
    if (registry !== undefined) api.deps.registry = registry;
    const apps = api.deps.apps as AppService;
    const resyncFinds = new Counter({
      name: "gantry_deploy_resync_finds_total",
      help: "Deploy reconciles that found work only because of the periodic resync (each one is a bug: a missed watch event or wake-up)",
      registers: [api.deps.metrics.registry],
    });
    const gitops = api.deps.stack!;
    const providers = poolProviders({
      dataDir: opts.dataDir,
      ...(opts.pools?.gantry === undefined ? {} : { gantry: opts.pools.gantry }),
      ...(opts.pools?.sshRoot === undefined ? {} : { sshRoot: opts.pools.sshRoot }),
      log: say,
    });
    const nodeCredentials = poolCredentials({
      url,
      tokens: api.deps.tokens,
      joins: new JoinTokens(store),
      ...(tls === undefined ? {} : { caHash: tls.ca.hash }),
    });
    // Servers sharing a store (etcd) elect one to run the controllers.
    const leadership = startLeadership({
      store,
      id: controllerId(url, process.pid),
      ...(opts.log ? { log: opts.log } : {}),
      lead: () => {
        const stack = leadGitOps(gitops, opts.log ?? ((l) => process.stderr.write(l + "\n")));
        const deploy = startDeployController({
          store,
          ...(opts.log ? { log: opts.log } : {}),
          ...(opts.deployResyncMs === undefined ? {} : { resyncMs: opts.deployResyncMs }),
          ...(opts.nodeGraceMs === undefined ? {} : { nodeGraceMs: opts.nodeGraceMs }),
          onResyncFind: () => resyncFinds.inc(),
          appLog: (app, line) => {
            try {
              apps.logs.append(app, [{ source: "deploy", line }]);
            } catch {
              // the app's log directory went with apps:destroy
            }
          },
        });
        const acme =
          opts.acme === undefined
            ? undefined
            : startAcmeController({
                store,
                box: apps.secrets,
                acme: opts.acme,
                ...(opts.log ? { log: opts.log } : {}),
              });
        const reviews = startReviewSweep(running.deps, { log: say });
        const pools = startPoolController({
          store,
          providers,
          credentials: nodeCredentials.credentials,
          forgetCredentials: nodeCredentials.forget,
          ...(opts.pools?.pollMs === undefined ? {} : { pollMs: opts.pools.pollMs }),
          log: say,
        });
        const connect = startConnectPoller({ deps: running.deps, log: say });
        const cron = startCronController({ store, log: say });
        const autopilot = servers.lead();
        const notifications = startNotifications({
          store,
          box: apps.secrets,
          appUrl: (app) => apps.appUrl(app),
          log: say,
        });
        return {
          stop: async () =>
            void (await Promise.all([
              stack.stop(),
              deploy.stop(),
              acme?.stop(),
              pools.stop(),
              reviews.stop(),
              notifications.stop(),
              connect.stop(),
              cron.stop(),
              autopilot.stop(),
            ])),
        };
      },
    });
    api.deps.controllers = leadership;
    return {
      store,
      api,
      address,
      url,
      adminToken: secret,
      ...(registry === undefined ? {} : { registry }),
      ...(tls === undefined ? {} : { tls }),
      ...(cluster === undefined ? {} : { cluster }),
      stop: async () => {
        artifactSync.abort();
        await leadership.stop();
        await artifactsSynced;
        await servers.stop();
        await registry?.stop();
        await running.close();
        await store.close();
        await cluster?.stop();
      },
    };
  } catch (err) {
    await plane?.stop().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    throw await startFailure(cluster, err);
  } finally {
    clearInterval(hold);
  }
}

/** A start that failed because this server's etcd member was removed says so. */
async function startFailure(cluster: ClusterStore | undefined, err: unknown): Promise<unknown> {
  if (cluster === undefined) return err;
  const { removedError } = await import("../cluster/start.js");
  return (await removedError(cluster)) ?? err;
}

/** This server's own etcd: asked for (`cluster`), or the data directory belongs to a cluster. */
async function startOwnEtcd(opts: ServerOptions): Promise<ClusterStore | undefined> {
  const { hasCluster, startClusterStore, refuseStoreFlag } = await import("../cluster/start.js");
  if (opts.cluster === undefined && !hasCluster(opts.dataDir)) return undefined;
  if (opts.store !== undefined) refuseStoreFlag(opts.dataDir);
  const say = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  // Without flags, the saved member restarts: name and addresses come from cluster.json.
  const o = opts.cluster ?? { name: "", peerAddr: "", clientAddr: "" };
  return startClusterStore(opts.dataDir, o, say);
}
