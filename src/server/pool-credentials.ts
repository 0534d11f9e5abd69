import type { JoinTokens } from "../api/join-tokens.js";
import type { TokenRegistry } from "../api/tokens.js";
import type { PoolNodeRef } from "../controllers/pools.js";
import { formatJoinToken } from "../model/join-token.js";
import { parsePolicy, type Policy } from "../model/token.js";
import type { NodeCredentials } from "../pools/provider.js";

export interface PoolCredentialsOptions {
  /** The server's URL, as agents reach it. */
  url: string;
  tokens: TokenRegistry;
  joins: JoinTokens;
  /** The cluster CA's hash when the API serves HTTPS: nodes join with a join token then. */
  caHash?: string;
}

/** A join token lives this long: long enough for a slow cloud machine to boot and join. */
const JOIN_TTL_MS = 30 * 60_000;

/** What a pool node's agent may do: the policies `POST /v1/join` gives a node. */
const nodePolicies = (node: string): Policy[] => [
  parsePolicy(`node:${node}:write`),
  parsePolicy("service::write"),
];

/** The name of the node token the pool controller makes for `node`. */
const tokenName = (node: string): string => `pool-node-${node}`;

/**
 * How pool nodes join. Over HTTPS: a single-use join token with a short expiry, labelled with
 * the node's pool and address (the join writes them to its node record). Over plain HTTP (the
 * loopback default, where joins are refused): a node token with the policies a join would give,
 * named `pool-node-<name>`. `forget` revokes what a destroyed node was given.
 */
export function poolCredentials(o: PoolCredentialsOptions): {
  credentials: (node: PoolNodeRef) => Promise<NodeCredentials>;
  forget: (node: string) => Promise<void>;
} {
  const revokeNamed = async (name: string): Promise<void> => {
    if (o.tokens.find(name) !== undefined) await o.tokens.revoke(name).catch(() => undefined);
  };
  return {
    credentials: async (node) => {
      if (o.caHash !== undefined) {
        const { record, secret } = await o.joins.create(
          { ttlMs: JOIN_TTL_MS, uses: 1, labels: node.labels },
          `pool ${node.pool}`,
        );
        const joinToken = formatJoinToken({ caHash: o.caHash, id: record.id, secret });
        return { server: o.url, joinToken };
      }
      await revokeNamed(tokenName(node.name));
      const { secret } = await o.tokens.create(
        tokenName(node.name),
        nodePolicies(node.name),
        `pool ${node.pool}`,
      );
      return { server: o.url, nodeToken: secret };
    },
    forget: async (node) => {
      await revokeNamed(tokenName(node));
      // A node that joined with a join token holds `node-<name>` (POST /v1/join names it so).
      const want = JSON.stringify(nodePolicies(node));
      for (const t of o.tokens.list())
        if (
          (t.name === `node-${node}` || t.name.startsWith(`node-${node}-`)) &&
          JSON.stringify(t.policies) === want
        )
          await o.tokens.revoke(t.id).catch(() => undefined);
    },
  };
}
