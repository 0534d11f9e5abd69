import type { NodeSpec } from "./provider.js";

/** How an agent gets its credential: a join token (or a file holding one), or a node token file. */
export type AgentCredential = ["--join" | "--join-file" | "--token-file", string];

export interface AgentArgsInput {
  server: string;
  name: string;
  dataDir: string;
  /** The address the agent binds and advertises. */
  address: string;
  credential: AgentCredential;
}

/** The arguments of `gantry agent` for a pool's node (after the argv that runs gantry). */
export function agentArgs(a: AgentArgsInput): string[] {
  return [
    "agent",
    "--server",
    a.server,
    "--node-name",
    a.name,
    "--data-dir",
    a.dataDir,
    "--address",
    a.address,
    // A pool's node stops its instances when it stops: destroying a node leaves nothing running.
    "--stop-instances",
    ...a.credential,
  ];
}

/** A spec's join token on the command line, or its node token from `tokenFile`. */
export function specCredential(spec: NodeSpec, tokenFile: string): AgentCredential {
  const c = spec.credentials;
  return "joinToken" in c ? ["--join", c.joinToken] : ["--token-file", tokenFile];
}
