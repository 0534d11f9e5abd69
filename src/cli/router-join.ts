import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trustCa } from "../client/transport.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { firstServer, joinToken, type JoinOptions } from "./join.js";

export interface RouterTokenOptions extends JoinOptions {
  join?: string;
}

export const ROUTER_NEEDS_TOKEN =
  "the router needs a token: --join with a router join token (gantry join-tokens create --router), or --token, --token-file or $GANTRY_TOKEN (gantry tokens create router-edge --policy app::read --policy service::read --policy cert::read)";

/**
 * The router's token: one given (--token, --token-file, $GANTRY_TOKEN); else the one a join
 * saved in the data dir (with the CA it pinned, trusted from then on); else, with --join, a new
 * join: the server is checked against the CA hash in the join token before anything is sent,
 * and the router token and CA are kept in the data dir (0600) for the next start.
 */
export async function routerToken(
  opts: RouterTokenOptions,
  addr: string,
  name: string,
  dataDir: string,
  say: (line: string) => void,
): Promise<string> {
  const tokenFile = join(dataDir, "router.token");
  const caFile = join(dataDir, "ca.crt");
  const given = opts.token ?? opts.tokenFile ?? process.env["GANTRY_TOKEN"];
  if (given !== undefined && given !== "") return joinToken(opts, process.env, ROUTER_NEEDS_TOKEN);
  if (existsSync(tokenFile)) {
    if (existsSync(caFile)) trustCa(readFileSync(caFile, "utf8"));
    if (opts.join !== undefined) say(`  joined before: using the router token in ${tokenFile}`);
    return readFileSync(tokenFile, "utf8").trim();
  }
  if (opts.join === undefined) return joinToken(opts, process.env, ROUTER_NEEDS_TOKEN);
  const { joinCluster } = await import("../client/join.js");
  const joined = await joinCluster(firstServer(addr), opts.join, name, "router");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(caFile, joined.caPem, 0o600);
  writeFileAtomic(tokenFile, joined.secret + "\n", 0o600);
  trustCa(joined.caPem);
  say(`  joined with a router join token: router token ${joined.tokenName} kept in ${tokenFile}`);
  return joined.secret;
}
