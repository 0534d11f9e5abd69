import type { Command } from "commander";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trustCa } from "../client/transport.js";
import { writeFileAtomic } from "../fsutil/write-atomic.js";
import { GantryClient } from "../client/client.js";
import { parsePortRange } from "../agent/apps/port-range.js";
import { ValidationError } from "../errors.js";
import { NodeNameSchema } from "../model/node.js";
import { defaultDataDir } from "../server/datadir.js";
import { defaultNodeName } from "../server/node-name.js";
import { parseWith } from "../validate.js";
import { firstServer, joinToken, serverAddr, untilSignal, type JoinOptions } from "./join.js";
import { colours, type Output } from "../output/output.js";

interface AgentCliOptions extends JoinOptions {
  dataDir?: string;
  nodeName?: string;
  address?: string;
  portRange?: string;
  stopInstances?: boolean;
  join?: string;
}

const NEEDS_TOKEN =
  "the agent needs a node token: --join with a join token (gantry join-tokens create), or --token, --token-file or $GANTRY_TOKEN (gantry tokens create agent-NODE --policy node:NODE:write --policy service::write)";

export function registerAgentCommands(program: Command, o: Output): void {
  program
    .command("agent")
    .description(
      "run a node agent that joins a Gantry server: runs this node's app instances and health checks",
    )
    .option(
      "--server <url[,url…]>",
      "the server's API URL, or several servers' separated by commas (default: $GANTRY_ADDR)",
    )
    .option("--token <secret>", "a node token (default: $GANTRY_TOKEN)")
    .option("--token-file <path>", "read the token from a file (keeps it out of `ps`)")
    .option(
      "--join <token>",
      "join with a join token (gantry join-tokens create): checks the server's CA against it, gets a node token, keeps both in the data dir",
    )
    .option("--data-dir <dir>", "the agent's state and instances (default: DATA_DIR/agents/NODE)")
    .option("--node-name <name>", "this node's name (default: the host name)")
    .option(
      "--address <ip>",
      "where the router reaches this node's instances (catalog address; default 127.0.0.1)",
    )
    .option(
      "--port-range <first-last>",
      "the ports instances get ($PORT), outside the kernel's ephemeral range (default 20000-32000, or where that overlaps it the largest range outside it)",
    )
    .option(
      "--stop-instances",
      "on Ctrl-C stop the instances too (default: they keep running and the next agent adopts them)",
    )
    .addHelpText(
      "after",
      `
The token needs node:NODE:write and service::write, e.g.
  $ gantry tokens create agent-web-2 --policy node:web-2:write --policy service::write

Examples:
  $ gantry agent --server https://10.0.0.1:7700 --join K10…   # later runs reuse the node token
  $ gantry agent --server http://10.0.0.1:7700 --token-file /etc/gantry/agent.token --node-name web-2
  $ gantry agent --server https://10.0.0.1:7700,https://10.0.0.2:7700,https://10.0.0.3:7700 --join K10…
  $ GANTRY_TOKEN=… gantry agent --server http://10.0.0.1:7700 --data-dir /var/lib/gantry-agent
  $ gantry agent --server http://10.0.0.1:7700 --token-file agent.token --port-range 10000-19999`,
    )
    .action(async (opts: AgentCliOptions) => {
      const c = colours(o);
      const addr = serverAddr(opts, process.env);
      const nodeName = parseWith(NodeNameSchema, opts.nodeName ?? defaultNodeName(), "--node-name");
      const dataDir = opts.dataDir ?? join(defaultDataDir(), "agents", nodeName);
      if (opts.address !== undefined && !/^[A-Za-z0-9._:%-]{1,253}$/.test(opts.address))
        throw new ValidationError(
          `--address must be an IP address or host name, got "${opts.address}"`,
          "--address",
        );
      const portRange =
        opts.portRange === undefined ? undefined : parsePortRange(opts.portRange, "--port-range");
      const token = await agentToken(opts, addr, nodeName, dataDir, (l) => o.out(l));
      const client = new GantryClient({ addr, token });
      // Loaded only when the agent runs, so other commands start fast.
      const { startAgent } = await import("../agent/agent.js");
      const agent = startAgent({
        client,
        nodeName,
        dataDir,
        ...(portRange === undefined ? {} : { portRange }),
        // The node token also pulls images from Gantry's registry.
        runner: {
          registryToken: token,
          ...(opts.address === undefined ? {} : { address: opts.address }),
        },
        log: (line) => o.err(`${new Date().toISOString()} ${line}`),
      });
      o.out(`${c.green("●")} agent for node ${nodeName} (data in ${dataDir})`);
      o.out(`  server   ${addr}`);
      o.out(
        c.dim(
          opts.stopInstances
            ? "  Ctrl-C stops the agent and its instances"
            : "  Ctrl-C stops the agent; instances keep running (--stop-instances to stop them too)",
        ),
      );
      // Joining waits for a server that is away (instances run meanwhile); a refused token ends it.
      const refused = agent.joined.then(
        () => {
          o.out(`  joined   ${client.addr} as ${nodeName}`);
          return new Promise<never>(() => undefined);
        },
        (err: unknown) => err,
      );
      const outcome = await Promise.race([untilSignal(), refused]);
      if (typeof outcome !== "string") {
        await agent.stop();
        throw outcome;
      }
      o.out(opts.stopInstances ? "stopping the agent and its instances…" : "stopping the agent…");
      await agent.stop({ stopInstances: opts.stopInstances === true });
      o.out("stopped");
    });
}

/**
 * The agent's node token: one given (--token, --token-file, $GANTRY_TOKEN); else the one a join
 * saved in the data dir (with the CA it pinned); else, with --join, a new join.
 */
async function agentToken(
  opts: AgentCliOptions,
  addr: string,
  nodeName: string,
  dataDir: string,
  say: (line: string) => void,
): Promise<string> {
  const tokenFile = join(dataDir, "node.token");
  const caFile = join(dataDir, "ca.crt");
  const given = opts.token ?? opts.tokenFile ?? process.env["GANTRY_TOKEN"];
  if (given !== undefined && given !== "") return joinToken(opts, process.env, NEEDS_TOKEN);
  if (existsSync(tokenFile)) {
    if (existsSync(caFile)) trustCa(readFileSync(caFile, "utf8"));
    if (opts.join !== undefined) say(`  joined before: using the node token in ${tokenFile}`);
    return readFileSync(tokenFile, "utf8").trim();
  }
  if (opts.join === undefined) return joinToken(opts, process.env, NEEDS_TOKEN);
  const { joinCluster } = await import("../client/join.js");
  const joined = await joinCluster(firstServer(addr), opts.join, nodeName);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(caFile, joined.caPem, 0o600);
  writeFileAtomic(tokenFile, joined.secret + "\n", 0o600);
  trustCa(joined.caPem);
  say(`  joined with a join token: node token ${joined.tokenName} kept in ${tokenFile}`);
  return joined.secret;
}
