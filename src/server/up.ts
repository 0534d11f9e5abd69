import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent } from "../agent/agent.js";
import type { TokenRegistry } from "../api/tokens.js";
import { hashSecret, newSecret } from "../api/tokens.js";
import { GantryClient } from "../client/client.js";
import { NodeNameSchema } from "../model/node.js";
import type { Policy } from "../model/token.js";
import { parseWith } from "../validate.js";
import { writeFileAtomic } from "./datadir.js";
import { startServer, type RunningServer, type ServerOptions } from "./server.js";

/** The local agent joins over loopback: if it has not within this, something is wrong. */
const JOIN_TIMEOUT_MS = 30_000;

export interface UpOptions extends ServerOptions {
  /** This machine's node name (default: the host name). */
  nodeName?: string;
}

export interface RunningUp extends RunningServer {
  nodeName: string;
  agent: Agent;
}

/** The default node name: the host name, cut to a valid node name. */
export function defaultNodeName(): string {
  const name = hostname()
    .split(".")[0]!
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 63);
  return /^[A-Za-z0-9]/.test(name) ? name : `node-${name}`.slice(0, 63);
}

/**
 * `gantry up`: the control plane plus a local agent that joins it exactly like a remote agent
 * would — over HTTP, with its own node token (created once, kept in DATA_DIR/agent.token).
 */
export async function startUp(opts: UpOptions): Promise<RunningUp> {
  const nodeName = parseWith(NodeNameSchema, opts.nodeName ?? defaultNodeName(), "--node-name");
  const server = await startServer(opts);
  try {
    const token = await ensureAgentToken(server.api.deps.tokens, opts.dataDir, nodeName);
    const client = new GantryClient({ addr: server.url, token });
    const agent = startAgent({ client, nodeName, ...(opts.log ? { log: opts.log } : {}) });
    await withTimeout(agent.joined, JOIN_TIMEOUT_MS, "the local agent could not join").catch(
      async (err: unknown) => {
        await agent.stop();
        throw err;
      },
    );
    return {
      ...server,
      nodeName,
      agent,
      stop: async () => {
        await agent.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
}

/** What the local agent may do: its own node, and the health of any service placed on it. */
export const agentPolicies = (node: string): Policy[] => [
  { resource: "node", prefix: node, access: "write" },
  { resource: "service", prefix: "", access: "write" },
];

/**
 * The local agent's token secret: reused from the data directory while it is valid for this node
 * name; otherwise a new token is created (the old one, if it was for another name, is revoked).
 */
export async function ensureAgentToken(
  tokens: TokenRegistry,
  dataDir: string,
  node: string,
): Promise<string> {
  const file = join(dataDir, "agent.token");
  const saved = existsSync(file) ? readFileSync(file, "utf8").trim() : "";
  const want = JSON.stringify(agentPolicies(node));
  if (saved !== "") {
    const rec = tokens.authenticate(saved);
    if (rec !== undefined && JSON.stringify(rec.policies) === want) return saved;
    if (rec !== undefined) await tokens.revoke(rec.id);
  }
  const secret = newSecret();
  const base = `agent-${node}`.slice(0, 55);
  const name = tokens.find(base) === undefined ? base : `${base}-${hashSecret(secret).slice(0, 8)}`;
  await tokens.create(name, agentPolicies(node), "gantry up", secret);
  writeFileAtomic(file, secret + "\n");
  return secret;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
