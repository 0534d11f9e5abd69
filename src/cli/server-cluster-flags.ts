/**
 * `gantry server`'s flags for a server that runs its own etcd (docs/ha.md, "Servers and their
 * etcd"): parsed and checked here, contradictions refused naming the flag.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { ValidationError } from "../errors.js";
import { MEMBER_NAME } from "../cluster/etcd-args.js";
import type { ClusterOptions } from "../cluster/cluster-mode.js";
import { defaultNodeName } from "../server/node-name.js";
import { parseHostPort } from "./config.js";

export interface ClusterFlags {
  clusterInit?: boolean;
  join?: string;
  joinToken?: string;
  joinTokenFile?: string;
  etcdPeerAddr?: string;
  etcdClientAddr?: string;
  name?: string;
  forceNewCluster?: boolean;
  store?: string;
}

/** The flags, and their examples after the command's own. */
export function addClusterFlags(cmd: Command): Command {
  return cmd
    .addHelpText("after", CLUSTER_EXAMPLES)
    .option("--cluster-init", "start a new cluster: this server runs its first etcd member")
    .option("--join <url>", "join the cluster of the server at this https:// URL")
    .option(
      "--join-token <token>",
      "a server join token (gantry join-tokens create --server); also $GANTRY_JOIN_TOKEN",
    )
    .option("--join-token-file <file>", "read the join token from a file (kept out of ps)")
    .option(
      "--etcd-peer-addr <host:port>",
      "where this server's etcd talks to the other members (default: the API's host, port 2380)",
    )
    .option(
      "--etcd-client-addr <host:port>",
      "where this server's etcd serves its clients (default 127.0.0.1:2379)",
    )
    .option("--name <name>", "this server's name, also its etcd member's (default: the host name)")
    .addOption(
      new Option(
        "--force-new-cluster",
        "after losing a majority of servers for good: restart this one as a one-member cluster with its data (the others wipe and join again)",
      ),
    );
}

export const CLUSTER_EXAMPLES = `  $ gantry server --cluster-init --api-addr 10.0.0.1:7700           # the first server
  $ gantry join-tokens create --server                                # on it: a token for the next
  $ gantry server --join https://10.0.0.1:7700 --join-token-file /etc/gantry/join-token \\
      --api-addr 10.0.0.2:7700                                        # each further server
  $ gantry server --cluster-init --name s1 --api-addr 127.0.0.1:7701 \\
      --etcd-peer-addr 127.0.0.1:2380 --etcd-client-addr 127.0.0.1:2379   # several on one machine
  $ gantry server                     # a restart: DATA_DIR/cluster.json says which member
  $ gantry server --force-new-cluster # a survivor, after a majority is lost for good`;

const ANY_HOST = new Set(["0.0.0.0", "::", ""]);

function refuse(a: string, b: string, why: string): never {
  throw new ValidationError(`${a} and ${b} do not go together: ${why}`, b);
}

function joinToken(
  f: ClusterFlags,
  env: NodeJS.ProcessEnv,
  read: (p: string) => string,
): string | undefined {
  if (f.joinToken !== undefined && f.joinTokenFile !== undefined)
    refuse("--join-token", "--join-token-file", "give the token one way");
  if (f.joinTokenFile !== undefined) {
    let text: string;
    try {
      text = read(f.joinTokenFile);
    } catch (err) {
      throw new ValidationError(
        `cannot read --join-token-file ${f.joinTokenFile}: ${(err as Error).message}`,
        "--join-token-file",
      );
    }
    return text.trim() || undefined;
  }
  return f.joinToken ?? (env["GANTRY_JOIN_TOKEN"]?.trim() || undefined);
}

/**
 * The cluster options for startServer; undefined for a server without its own etcd (or a
 * restart of one: DATA_DIR/cluster.json names its member and addresses).
 */
export function clusterOptions(
  f: ClusterFlags,
  ctx: { apiHost: string; dataDir: string; env?: NodeJS.ProcessEnv; read?: (p: string) => string },
): ClusterOptions | undefined {
  const env = ctx.env ?? process.env;
  const read = ctx.read ?? ((p: string) => readFileSync(p, "utf8"));
  const init = f.clusterInit === true;
  const force = f.forceNewCluster === true;
  if (init && f.join !== undefined)
    refuse("--cluster-init", "--join", "--cluster-init starts a new cluster, --join joins one");
  if (force && (init || f.join !== undefined))
    refuse(
      init ? "--cluster-init" : "--join",
      "--force-new-cluster",
      "it restarts an existing member alone",
    );
  const mode = init
    ? "--cluster-init"
    : f.join !== undefined
      ? "--join"
      : force
        ? "--force-new-cluster"
        : undefined;
  if (mode !== undefined && f.store !== undefined)
    refuse(mode, "--store", "this server's store is its own etcd; --store names another one");
  const token = joinToken(f, env, read);
  if (f.join === undefined && (f.joinToken !== undefined || f.joinTokenFile !== undefined))
    throw new ValidationError("--join-token needs --join URL (the server to join)", "--join-token");
  if (mode === undefined) {
    const flag = [
      ["--etcd-peer-addr", f.etcdPeerAddr],
      ["--etcd-client-addr", f.etcdClientAddr],
      ["--name", f.name],
    ].find(([, v]) => v !== undefined)?.[0];
    if (flag !== undefined && !existsSync(join(ctx.dataDir, "cluster.json")))
      throw new ValidationError(
        `${flag} needs --cluster-init or --join (a restart uses what DATA_DIR/cluster.json saved)`,
        flag,
      );
    return undefined;
  }
  const name = f.name ?? defaultNodeName();
  if (!MEMBER_NAME.test(name))
    throw new ValidationError(
      `--name must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, got "${name}"`,
      "--name",
    );
  const host = ctx.apiHost === "localhost" ? "127.0.0.1" : ctx.apiHost;
  if (f.etcdPeerAddr === undefined && ANY_HOST.has(host))
    throw new ValidationError(
      `--etcd-peer-addr is needed when --api-addr listens on every address (${ctx.apiHost}): etcd must advertise one the other servers reach`,
      "--etcd-peer-addr",
    );
  const peer = parseHostPort(
    f.etcdPeerAddr ?? `${host.includes(":") ? `[${host}]` : host}:2380`,
    "--etcd-peer-addr",
  );
  const client = parseHostPort(f.etcdClientAddr ?? "127.0.0.1:2379", "--etcd-client-addr");
  for (const [flag, a] of [
    ["--etcd-peer-addr", peer],
    ["--etcd-client-addr", client],
  ] as const)
    if (ANY_HOST.has(a.host))
      throw new ValidationError(`${flag} must be an address others reach, not ${a.host}`, flag);
  const addr = (a: { host: string; port: number }): string =>
    `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  let joinOpt: ClusterOptions["join"];
  if (f.join !== undefined) {
    if (!/^https:\/\/[^/\s]+/.test(f.join))
      throw new ValidationError(
        `--join must be a server's https:// URL, got "${f.join}"`,
        "--join",
      );
    if (token === undefined)
      throw new ValidationError(
        "--join needs a server join token: --join-token T, --join-token-file FILE or $GANTRY_JOIN_TOKEN (make one on a server of the cluster: gantry join-tokens create --server)",
        "--join-token",
      );
    joinOpt = { url: f.join.replace(/\/+$/, ""), token };
  }
  return {
    ...(init ? { init: true as const } : {}),
    ...(joinOpt === undefined ? {} : { join: joinOpt }),
    ...(force ? { forceNewCluster: true as const } : {}),
    name,
    peerAddr: addr(peer),
    clientAddr: addr(client),
  };
}
