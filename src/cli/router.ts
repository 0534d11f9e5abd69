import { join } from "node:path";
import type { Command } from "commander";
import { GantryClient } from "../client/client.js";
import { ApiError, ConnectError } from "../client/errors.js";
import { GantryError } from "../errors.js";
import { CPU_DMA_LATENCY, holdCpuLatency } from "../server/cpu-latency.js";
import { parseHostPort } from "./config.js";
import { parseConnectTimeout } from "./failover-flags.js";
import { NodeNameSchema } from "../model/node.js";
import { defaultDataDir } from "../server/datadir.js";
import { defaultNodeName } from "../server/node-name.js";
import { parseWith } from "../validate.js";
import { serverAddr, untilSignal } from "./join.js";
import { routerToken, type RouterTokenOptions } from "./router-join.js";
import { colours, type Output } from "../output/output.js";
import { listenError, parseDomain, parseRouterWorkers } from "./up.js";

interface RouterCliOptions extends RouterTokenOptions {
  dataDir?: string;
  name?: string;
  httpAddr: string;
  httpsAddr?: string;
  domain: string;
  workers?: string;
  lowLatency?: boolean;
  connectTimeout?: string;
}

/**
 * `gantry router`: the router of `gantry up` on its own, following a Gantry server's API with a
 * read-only token (apps, services, and the certificates it serves over HTTPS) — on an edge
 * machine, or beside others so routing outlives any one machine. It joins like an agent: with
 * `--join` and a router join token it pins the cluster CA and keeps its own router token.
 * Like an agent it is statically stable: while the server is away it keeps routing by the
 * table it last had, to the instances the agents keep running.
 */
export function registerRouterCommands(program: Command, o: Output): void {
  program
    .command("router")
    .description("run a router on its own that follows a Gantry server: apps at <app>.<domain>")
    .option(
      "--server <url[,url…]>",
      "the server's API URL, or several servers' separated by commas (default: $GANTRY_ADDR)",
    )
    .option(
      "--token <secret>",
      "a token with app::read, service::read and cert::read (default: $GANTRY_TOKEN)",
    )
    .option("--token-file <path>", "read the token from a file (keeps it out of `ps`)")
    .option(
      "--join <token>",
      "join with a router join token (gantry join-tokens create --router): checks the server's CA against it, gets a router token, keeps both in the data dir",
    )
    .option(
      "--data-dir <dir>",
      "where a joined router keeps its token and the CA (default: DATA_DIR/routers/NAME)",
    )
    .option("--name <name>", "this router's name, in its token's name (default: the host name)")
    .option("--http-addr <host:port>", "listen address", "127.0.0.1:8080")
    .option(
      "--https-addr <host:port>",
      "HTTPS listen address (default 127.0.0.1:8443; when that is taken, a free port)",
    )
    .option("--domain <domain>", "apps are served at <app>.<domain>", "localhost")
    .option(
      "--workers <n>",
      "worker processes; 0 serves in the main process (default: 0 on 1-2 CPUs, else one per CPU, at most 8)",
    )
    .option(
      "--connect-timeout <duration>",
      "an instance that does not take the connection within this long is skipped: the request goes to another (default 500ms)",
    )
    .option(
      "--low-latency",
      "keep idle CPUs ready to run at once (PM QoS, needs root): trims tail latency on VMs",
    )
    .addHelpText(
      "after",
      `
The token only reads: apps (names, domains), services (passing instances) and the certificates
with their keys (served over HTTPS, followed as they change). Joining gives such a token:
  $ gantry join-tokens create --router --uses 1          # on the server
  $ gantry router --server https://10.0.0.1:7700 --join K10…   # later runs reuse the token
or make one by hand:
  $ gantry tokens create router-edge-1 --policy app::read --policy service::read --policy cert::read

Examples:
  $ gantry router --server http://10.0.0.1:7700 --token-file /etc/gantry/router.token
  $ gantry router --server https://10.0.0.1:7700,https://10.0.0.2:7700 --join K10…
  $ sudo gantry router --server http://10.0.0.1:7700 --http-addr 0.0.0.0:80 --domain apps.example.com
  $ sudo gantry router --server http://10.0.0.1:7700 --http-addr 0.0.0.0:80 --https-addr 0.0.0.0:443`,
    )
    .action(async (opts: RouterCliOptions) => {
      const c = colours(o);
      const addr = serverAddr(opts, process.env);
      const http = parseHostPort(opts.httpAddr, "--http-addr");
      const https = parseHostPort(opts.httpsAddr ?? "127.0.0.1:8443", "--https-addr");
      const domain = parseDomain(opts.domain);
      const workers =
        opts.workers === undefined ? undefined : parseRouterWorkers(opts.workers, "--workers");
      const connectTimeoutMs = parseConnectTimeout(opts.connectTimeout);
      const name = parseWith(NodeNameSchema, opts.name ?? defaultNodeName(), "--name");
      const dataDir = opts.dataDir ?? join(defaultDataDir(), "routers", name);
      const token = await routerToken(opts, addr, name, dataDir, (l) => o.out(l));
      const client = new GantryClient({ addr, token });
      await checkToken(client, addr, o);

      const hold = opts.lowLatency === true ? holdCpuLatency(0) : undefined;
      // Loaded only when the router runs, so other commands start fast.
      const [
        { startRouter },
        { ApiRouteSource },
        { defaultRouterWorkers },
        { ApiCertSource },
        { acmeChallenge },
      ] = await Promise.all([
        import("../router/router.js"),
        import("../router/api-source.js"),
        import("../router/index.js"),
        import("../router/api-cert-source.js"),
        import("../client/acme.js"),
      ]);
      const log = (line: string): void => o.err(`${new Date().toISOString()} ${line}`);
      const router = await startRouter({
        listen: { host: http.host, port: http.port },
        domain,
        source: new ApiRouteSource({ client, log }),
        // ACME HTTP-01 challenges of the server's certificates, answered on this router too.
        challenges: (token) => acmeChallenge(client, token),
        workers: workers ?? defaultRouterWorkers(),
        ...(connectTimeoutMs === undefined ? {} : { upstream: { connectTimeoutMs } }),
        https: {
          ...https,
          explicit: opts.httpsAddr !== undefined,
          certs: new ApiCertSource({ client, log }),
        },
        log,
      }).catch((err: unknown) => {
        hold?.release();
        throw listenError(err, { apiPort: -1, httpPort: http.port, httpsPort: https.port });
      });
      o.out(`${c.green("●")} router on ${router.url} (*.${router.domain})`);
      if (router.https !== undefined) o.out(`  https    ${router.https.url}`);
      o.out(`  server   ${addr}`);
      if (hold !== undefined)
        o.out(`  latency  idle CPUs wake at once while it runs (${CPU_DMA_LATENCY} = 0)`);
      o.out(c.dim("  Ctrl-C to stop"));
      await untilSignal();
      o.out("stopping the router…");
      await router.close();
      hold?.release();
      o.out("stopped");
    });
}

/**
 * A token the server refuses ends the router at once, with what it needs. A server that cannot
 * be reached does not: the router starts and follows it once it answers.
 */
async function checkToken(client: GantryClient, addr: string, o: Output): Promise<void> {
  const [{ AppsClient }, { CatalogClient }] = await Promise.all([
    import("../client/apps.js"),
    import("../client/catalog.js"),
  ]);
  try {
    await new AppsClient(client).list();
    await new CatalogClient(client).service("gantry-router-check", { passing: true });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403))
      throw new GantryError(
        "token_refused",
        `${addr} refused the token (${err.status}): the router needs app::read and service::read`,
      );
    if (err instanceof ConnectError)
      o.err(`gantry: cannot reach ${addr} yet (${err.message}); routing starts once it answers`);
  }
}
