import { randomBytes } from "node:crypto";

/** What a supervised etcd is started with (see launchEtcd). */
export interface EtcdLaunch {
  /** Its data directory: DATA_DIR/etcd. Its log goes next to it (DATA_DIR/etcd.log). */
  dir: string;
  /** The member name (= the Gantry server's name). */
  name: string;
  peerUrl: string;
  clientUrl: string;
  /** For a member that has never run: the cluster it starts in (ignored on existing data). */
  initial?: {
    /** "a=http://…,b=http://…" */
    cluster: string;
    state: "new" | "existing";
    /** A new cluster's token (its members share it); default: a random one. */
    token?: string;
  };
  /** Start a one-member cluster from this member's data (the others' membership is dropped). */
  forceNewCluster?: boolean;
  /**
   * How long to wait for its client URL (default 60 s; Infinity: as long as it runs). A member
   * restarted on its data serves clients only once a majority of its cluster runs.
   */
  startTimeoutMs?: number;
  /** Stop waiting (and stop etcd) when aborted. */
  signal?: AbortSignal;
  log: (line: string) => void;
}

/** etcd's defaults, spelled out: a heartbeat every 100 ms, an election after 1 s without one. */
export const ETCD_TUNING = ["--heartbeat-interval=100", "--election-timeout=1000"];

/** The member names etcd's --initial-cluster can carry (no "=" or ","), as Gantry server names. */
export const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** etcd's command line (argv, never a shell string) for a launch. */
export function etcdArgs(l: EtcdLaunch): string[] {
  return [
    `--name=${l.name}`,
    `--data-dir=${l.dir}`,
    `--listen-peer-urls=${l.peerUrl}`,
    `--initial-advertise-peer-urls=${l.peerUrl}`,
    `--listen-client-urls=${l.clientUrl}`,
    `--advertise-client-urls=${l.clientUrl}`,
    ...(l.initial === undefined
      ? []
      : [
          `--initial-cluster=${l.initial.cluster}`,
          `--initial-cluster-state=${l.initial.state}`,
          // Only a new cluster's id comes from the token: unique, so that two clusters made
          // with the same names and addresses never take each other's members for their own.
          ...(l.initial.state === "new"
            ? [`--initial-cluster-token=${l.initial.token ?? newClusterToken()}`]
            : []),
        ]),
    ...(l.forceNewCluster === true ? ["--force-new-cluster"] : []),
    ...ETCD_TUNING,
    "--logger=zap",
    "--log-outputs=stderr",
  ];
}

const newClusterToken = (): string => `gantry-${randomBytes(8).toString("hex")}`;

/** "127.0.0.1:2380" → "http://127.0.0.1:2380" (peer traffic is plain HTTP for now). */
export const etcdUrl = (hostPort: string): string => `http://${hostPort}`;
