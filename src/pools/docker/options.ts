import type { ContainerCreateOptions } from "dockerode";
import { agentArgs, specCredential } from "../agent-args.js";
import type { NodeSpec } from "../provider.js";
import { containerName, nodeLabels } from "./labels.js";

/** The agent's data dir in the container: an anonymous volume, removed with the container. */
export const DATA_DIR = "/var/lib/gantry-node";
/** Where a node token is put in the container before it starts (root's, 0600). */
export const TOKEN_FILE = "/run/gantry/agent.token";

/** The image a node runs and how gantry is started in it. */
export interface NodeImage {
  ref: string;
  /** The argv that runs gantry in the image, e.g. `["gantry"]`. */
  gantry: string[];
  /** Read-only bind mounts the image needs (the default image: this Gantry install). */
  mounts: { source: string; target: string }[];
}

export interface NodeContainerInput {
  spec: NodeSpec;
  image: NodeImage;
  /** The loopback twin of the node's address: what the agent binds and advertises. */
  bind: string;
  createdAt: string;
  /** `docker.memory` in MiB (absent: no limit). */
  memoryMb?: number;
}

/** The agent's arguments: like the `local` provider's, with the token kept off the command line. */
export function containerAgentArgs(spec: NodeSpec, bind: string): string[] {
  return agentArgs({
    server: spec.credentials.server,
    name: spec.name,
    dataDir: DATA_DIR,
    address: bind,
    credential: specCredential(spec, TOKEN_FILE),
  });
}

/** The engine's create options for a node's container (pure: everything comes in). */
export function nodeContainerOptions(i: NodeContainerInput): ContainerCreateOptions {
  const memory = i.memoryMb === undefined ? {} : { Memory: i.memoryMb * 1024 * 1024 };
  return {
    name: containerName(i.spec.name),
    Image: i.image.ref,
    // The node's own entrypoint, whatever the image's: a baked image only needs gantry on it.
    Entrypoint: i.image.gantry,
    Cmd: containerAgentArgs(i.spec, i.bind),
    // The agent runs as root, as on a machine: it owns the node and reads the root-only token.
    User: "0:0",
    // No variable of the server's environment (GANTRY_TOKEN, …) reaches the node.
    Env: [],
    Labels: nodeLabels(i.spec, i.createdAt),
    Volumes: { [DATA_DIR]: {} },
    HostConfig: {
      // Host networking: the agent reaches a server on 127.0.0.1 and binds its loopback twin,
      // and its process instances bind host ports, as a `local` node's do.
      NetworkMode: "host",
      // docker-init is pid 1: it passes the stop's SIGTERM to the agent and reaps its children.
      Init: true,
      // The pool controller repairs nodes; the engine never restarts one by itself.
      RestartPolicy: { Name: "no" },
      Mounts: i.image.mounts.map((m) => ({
        Type: "bind" as const,
        Source: m.source,
        Target: m.target,
        ReadOnly: true,
      })),
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
      ...memory,
      ...(i.memoryMb === undefined ? {} : { MemorySwap: i.memoryMb * 1024 * 1024 }),
    },
  };
}
