import { join } from "node:path";
import { startAgent, type Agent } from "../agent/agent.js";
import { checkPortRange, readEphemeralPorts, type PortRange } from "../agent/apps/port-range.js";
import type { TokenRegistry } from "../api/tokens.js";
import { GantryClient } from "../client/client.js";
import { NodeNameSchema } from "../model/node.js";
import { agentPolicies } from "../model/policies.js";
import { parseWith } from "../validate.js";
import { defaultNodeName } from "./node-name.js";
import { startServer, type RunningServer, type ServerOptions } from "./server.js";
import type { RunningRouter } from "../router/router.js";
import { startLocalRouter } from "./local-router.js";
import { ensureLocalToken } from "./local-tokens.js";

/** The local agent joins over loopback: if it has not within this, something is wrong. */
const JOIN_TIMEOUT_MS = 30_000;

export interface UpOptions extends ServerOptions {
  /** This machine's node name (default: the host name). */
  nodeName?: string;
  /** Where the router listens (default 127.0.0.1:8080); apps are `<app>.<appDomain>`. */
  httpHost?: string;
  httpPort?: number;
  /** The router's HTTPS listener (default 127.0.0.1:8443, or a free port when that is taken). */
  https?: { host: string; port: number; explicit: boolean };
  /** Router worker processes (default: see defaultRouterWorkers). */
  routerWorkers?: number;
  /** Where the local agent's instances get their ports (default: see AgentOptions.portRange). */
  portRange?: PortRange;
}

export interface RunningUp extends RunningServer {
  nodeName: string;
  agent: Agent;
  router: RunningRouter;
}

/**
 * `gantry up`: the control plane plus a local agent that joins it exactly like a remote agent
 * would — over HTTP, with its own node token (created once, kept in DATA_DIR/agent.token).
 */
export async function startUp(opts: UpOptions): Promise<RunningUp> {
  const nodeName = parseWith(NodeNameSchema, opts.nodeName ?? defaultNodeName(), "--node-name");
  const httpPort = opts.httpPort ?? 8080;
  // Before anything starts: a range given that the kernel's outgoing connections share is
  // refused. Without one the agent chooses (and says so).
  if (opts.portRange !== undefined) checkPortRange(opts.portRange, readEphemeralPorts());
  const server = await startServer({ routerPort: httpPort, ...opts });
  try {
    const token = await ensureAgentToken(server.api.deps.tokens, opts.dataDir, nodeName);
    const client = new GantryClient({ addr: server.url, token });
    const agent = startAgent({
      client,
      nodeName,
      // The local agent runs app instances too; its files live apart from the server's.
      dataDir: join(opts.dataDir, "agent"),
      // Its node token also pulls images from Gantry's registry (node tokens may pull).
      runner: { registryToken: token },
      ...(opts.portRange === undefined ? {} : { portRange: opts.portRange }),
      ...(opts.log ? { log: opts.log } : {}),
    });
    await withTimeout(agent.joined, JOIN_TIMEOUT_MS, "the local agent could not join").catch(
      async (err: unknown) => {
        await agent.stop();
        throw err;
      },
    );
    const router = await startLocalRouter(server, {
      dataDir: opts.dataDir,
      host: opts.httpHost ?? "127.0.0.1",
      port: httpPort,
      https: opts.https ?? { host: "127.0.0.1", port: 8443, explicit: false },
      domain: opts.appDomain ?? "localhost",
      ...(opts.routerWorkers === undefined ? {} : { workers: opts.routerWorkers }),
      ...(opts.log ? { log: opts.log } : {}),
    }).catch(async (err: unknown) => {
      await agent.stop({ stopInstances: true });
      throw err;
    });
    return {
      ...server,
      nodeName,
      agent,
      router,
      stop: async () => {
        await router.close();
        // The whole platform is going away: its instances stop with it (a standalone
        // `gantry agent` leaves them running instead).
        await agent.stop({ stopInstances: true });
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The local agent's token secret: reused from the data directory while it is valid for this node
 * name; otherwise a new token is created (the old one, if it was for another name, is revoked).
 */
export function ensureAgentToken(
  tokens: TokenRegistry,
  dataDir: string,
  node: string,
): Promise<string> {
  return ensureLocalToken(tokens, dataDir, "agent.token", `agent-${node}`, agentPolicies(node));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export { defaultNodeName } from "./node-name.js";
