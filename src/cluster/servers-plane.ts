/**
 * What every server does for `gantry servers` and dead-server cleanup, in one place for
 * startServer: register `sys/servers/<name>`; on etcd, probe the members every second; while it
 * leads the controllers, run the autopilot over those probes (docs/ha.md, "Dead servers").
 */
import { hostname } from "node:os";
import type { AuditLog } from "../audit/log.js";
import type { ServerRecord } from "../model/server.js";
import type { Store } from "../store/index.js";
import type { EtcdStore } from "../store/etcd/store.js";
import type { AutopilotConfig } from "./autopilot.js";
import { startAutopilot } from "./autopilot-run.js";
import { Membership } from "./membership.js";
import { ClusterProber } from "./prober.js";
import { registerServer } from "./registration.js";

export interface ServersPlaneOptions {
  store: Store;
  record: ServerRecord;
  audit: AuditLog;
  autopilot?: Partial<AutopilotConfig>;
  log: (line: string) => void;
  /** How often the members are probed (default 1 s). */
  probeIntervalMs?: number;
}

export interface ServersPlane {
  /** The member prober (etcd only). */
  readonly prober: ClusterProber | undefined;
  /** Start the autopilot (etcd only): call when this server starts to lead the controllers. */
  lead(): { stop(): Promise<void> };
  stop(): Promise<void>;
}

export function startServersPlane(o: ServersPlaneOptions): ServersPlane {
  const registration = registerServer({ store: o.store, record: o.record, log: o.log });
  const endpoints =
    o.store.backend === "etcd"
      ? (o.store as Partial<Pick<EtcdStore, "endpoints">>).endpoints
      : undefined;
  const membership = endpoints === undefined ? undefined : new Membership([...endpoints]);
  const prober =
    membership === undefined
      ? undefined
      : new ClusterProber({
          membership,
          ...(o.probeIntervalMs === undefined ? {} : { intervalMs: o.probeIntervalMs }),
        }).start();
  return {
    prober,
    lead: () =>
      membership === undefined || prober === undefined
        ? { stop: async () => undefined }
        : startAutopilot({
            store: o.store,
            prober,
            membership,
            audit: o.audit,
            ...(o.autopilot === undefined ? {} : { config: o.autopilot }),
            log: o.log,
          }),
    stop: async () => {
      await prober?.stop();
      membership?.close();
      await registration.stop();
    },
  };
}

/**
 * This server's record: its name is `name` (`--name`), else its etcd member's, else the host
 * name and API port ("web-1:7700").
 */
export function serverRecordFor(o: {
  apiUrl: string;
  apiPort: number;
  name?: string;
  member?: { memberId: string; name: string; clientUrl: string; peerUrl: string };
}): ServerRecord {
  const host = hostname()
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "");
  const name = o.name || o.member?.name || `${host.slice(0, 56) || "server"}:${o.apiPort}`;
  return {
    name,
    apiUrl: o.apiUrl,
    ...(o.member === undefined
      ? {}
      : {
          memberId: o.member.memberId,
          etcdClientUrl: o.member.clientUrl,
          etcdPeerUrl: o.member.peerUrl,
        }),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
}
