import type { App, Deploy, InstanceStatus, Release } from "./app.js";
import type { HealthStatus } from "./service.js";

/**
 * What the apps API answers (src/api/routes/apps*.ts), shared with the client and the CLI as
 * types only.
 */

/** A release without its (encrypted) config values: only the names. */
export type ReleaseView = Omit<Release, "config"> & { configNames: string[] };

/** An app as `GET /v1/apps[/:app]` shows it. */
export interface AppView extends App {
  /** Where to push: `<api url>/git/<app>.git`. */
  gitUrl: string;
  /** Where it answers through the router: `http://<app>.<domain>:<port>/`. */
  url: string;
  /** The release that serves (info only). */
  release?: ReleaseView;
  /** The last deploy, without its log (info only). */
  deploy?: Omit<Deploy, "log">;
  /** The app record's modRevision (info only: `GET /v1/apps/:app`). */
  modRevision?: number;
  /** The scaling a formation change started, to follow (`PUT …/formation` only). */
  scaling?: string;
  /** The release a change of runtime or container made, to follow (`PUT …/settings` only). */
  newRelease?: number;
}

/** One instance as `GET /v1/apps/:app/ps` shows it: the assignment joined with its status. */
export interface PsEntry {
  id: string;
  /** `web.1`, `worker.2`, `run.3`. */
  name: string;
  processType: string;
  index: number;
  release: number;
  node: string;
  kind: "run" | "oneoff";
  desired: "running" | "draining" | "stopped";
  command: string;
  /** What the agent reports; `pending` until it reports anything. */
  state: InstanceStatus["state"] | "pending";
  pid?: number;
  port?: number;
  address?: string;
  restarts: number;
  exitCode?: number | null;
  lastOutput: string[];
  startedAt?: string;
  updatedAt?: string;
  /** Web instances: their health in the catalog (absent while not registered). */
  health?: HealthStatus;
  /**
   * The node has no live agent (its heartbeat lease ran out): the state is what it last said.
   * After a grace the instance is started again elsewhere (docs/apps.md, "A node that dies").
   */
  nodeDown?: boolean;
}

/** `POST /v1/apps/:app/run`: the one-off's id, and the log source its output comes under. */
export interface RunAnswer {
  id: string;
  source: string;
  release: number;
  node: string;
  createdAt: string;
}

/** Answer of a change that makes a release (config, rollback). */
export interface ReleaseAnswer {
  changed: boolean;
  /** The new release (or the current one when nothing changed). */
  version: number;
}

/** The last line of a deploy stream, after `gantry:result `. */
export interface DeployResult {
  ok: boolean;
  release?: number;
  url?: string;
  error?: string;
}
