/**
 * What the `ssh` provider asks of a host's side (host-main.ts, run there from the one-file agent
 * as `node gantry-agent.mjs pool-host ROOT`) and what it answers: one JSON request on stdin — the
 * node's token travels only there — and one JSON line on stdout.
 */
import type { MachineState } from "../provider.js";

/** ROOT/NAME/node.json: the durable mark that a node lives on this host. */
export interface HostNodeFile {
  name: string;
  pool: string;
  instance: number;
  address: string;
  createdAt: string;
  /** The systemd unit that runs the agent; absent: a detached process with a pid file. */
  unit?: string;
}

/** A node as its host sees it. */
export interface HostNode extends HostNodeFile {
  state: MachineState;
  /** The agent's pid when it was started (kept in agent.pid with its start time). */
  pid: number | undefined;
}

export type HostRequest =
  | {
      op: "create";
      name: string;
      pool: string;
      instance: number;
      address: string;
      createdAt: string;
      server: string;
      joinToken?: string;
      nodeToken?: string;
      startTimeoutMs: number;
      /** Use systemd when the host runs it (default true). */
      systemd?: boolean;
    }
  | { op: "destroy"; name: string; stopGraceMs: number }
  | { op: "list"; pool?: string; name?: string };

export type HostResponse =
  | { ok: HostNode[] }
  | { error: { code: string; message: string; field?: string } };
