import type { Command } from "commander";
import { parsePortRange } from "../agent/apps/port-range.js";
import { GantryError, ValidationError } from "../errors.js";
import { ServerRemovedError } from "../cluster/errors.js";
import { nodeGraceOption } from "./failover-flags.js";
import { parseDurationFlag } from "./duration-flag.js";
import type { RunningRouter } from "../router/router.js";
import { ROUTER_DOMAIN } from "../router/table.js";
import { defaultDataDir } from "../server/datadir.js";
// The server code is loaded only when `up`/`server` run, so other commands start fast.
import type { RunningServer } from "../server/server.js";
import { CPU_DMA_LATENCY, holdCpuLatency } from "../server/cpu-latency.js";
import { defaultNodeName } from "../server/node-name.js";
import { parseHostPort } from "./config.js";
import { colours, type Output } from "../output/output.js";
import { tuneServerMemory } from "./server-memory.js";
import { acmeOption, parseAcmeFlags, type AcmeFlags } from "./acme-flags.js";
import { addClusterFlags, clusterOptions, type ClusterFlags } from "./server-cluster-flags.js";
import { addAutopilotFlags, parseAutopilotFlags, type AutopilotFlags } from "./autopilot-flags.js";

interface UpOptions extends AcmeFlags, ClusterFlags, AutopilotFlags {
  dataDir: string;
  apiAddr: string;
  httpAddr: string;
  httpsAddr?: string;
  store?: string;
  nodeName?: string;
  domain: string;
  lowLatency?: boolean;
  routerWorkers?: string;
  deployResync?: string;
  /** --node-grace (failover-flags.ts). */
  nodeGrace?: string;
  portRange?: string;
  /** --registry-addr; commander sets registry false for --no-registry. */
  registryAddr?: string;
  registry: boolean;
  imageRetention?: string;
  tls?: boolean;
}

/** Start, print where everything is, and stop cleanly on SIGINT/SIGTERM. */
async function serveUntilSignal(
  o: Output,
  start: () => Promise<RunningServer & { nodeName?: string; router?: RunningRouter }>,
  what: string,
  flags: {
    apiPort: number;
    httpPort?: number;
    httpsPort?: number;
    lowLatency?: boolean;
    /** The ACME directory, for the banner. */
    acme?: string;
  },
): Promise<void> {
  const c = colours(o);
  // Asked for explicitly, so a machine that cannot do it stops here, before anything starts.
  const hold = flags.lowLatency === true ? holdCpuLatency(0) : undefined;
  const started = tuneServerMemory();
  const running = await start()
    .catch((err: unknown) => {
      hold?.release();
      throw listenError(err, flags);
    })
    .finally(started);
  // Listening before the banner: whoever reads "Ctrl-C to stop" and signals at once gets a
  // clean stop, not the default action of a signal nobody handles yet.
  const stopAsked = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  const st = await running.store.status();
  o.out(`${c.green("●")} ${what} is up`);
  o.out(`  API      ${running.url}`);
  o.out(`  UI       ${running.url}/ui ${c.dim("(gantry ui prints a login link)")}`);
  o.out(`  store    ${st.backend} (revision ${st.revision})`);
  if (running.nodeName !== undefined)
    o.out(`  agent    node ${running.nodeName} (runs the health checks of services on it)`);
  if (running.router !== undefined)
    o.out(`  router   ${running.router.url} (*.${running.router.domain})`);
  if (running.router?.https !== undefined)
    o.out(`  https    ${running.router.https.url} ${c.dim("(certificates: gantry certs)")}`);
  if (running.registry !== undefined)
    o.out(
      `  registry ${running.registry.address} ${c.dim("(docker login with any user and a Gantry token)")}`,
    );
  if (hold !== undefined)
    o.out(
      `  latency  idle CPUs wake at once while Gantry runs (--low-latency: ${CPU_DMA_LATENCY} = 0)`,
    );
  if (flags.acme !== undefined)
    o.out(`  ACME     ${flags.acme} ${c.dim("(apps with custom domains; gantry certs)")}`);
  if (running.tls !== undefined) {
    o.out(`  CA       ${running.tls.ca.certPath} (sha256 ${running.tls.ca.hash.slice(0, 16)}…)`);
    o.out(
      c.dim(
        `  clients elsewhere: GANTRY_CA=${running.tls.ca.certPath}; git: GIT_SSL_CAINFO=${running.tls.ca.certPath} (or git config http.sslCAInfo)`,
      ),
    );
  }
  o.out(`  token    ${c.dim("saved in the data directory (admin.token); the CLI finds it there")}`);
  o.out(c.dim("  Ctrl-C to stop"));
  // A server whose etcd member was removed from the cluster stops, saying what to do.
  const removed = running.cluster?.etcd.exited.then((e) => (e.removed ? e : new Promise(() => {})));
  const gone = await Promise.race([
    stopAsked.then(() => false),
    removed?.then(() => true) ?? stopAsked,
  ]);
  o.out("stopping…");
  await running.stop();
  hold?.release();
  if (gone === true) throw new ServerRemovedError();
  o.out("stopped");
}

/** A taken or forbidden listen address as one line naming the flag; other errors unchanged. */
export function listenError(
  err: unknown,
  flags: { apiPort: number; httpPort?: number; httpsPort?: number },
): unknown {
  const e = err as { code?: string; syscall?: string; address?: string; port?: number };
  if (e.syscall !== "listen") return err;
  const where = `${e.address}:${e.port}`;
  const flag =
    e.port === flags.httpsPort && e.port !== flags.apiPort
      ? "--https-addr"
      : e.port === flags.httpPort && e.port !== flags.apiPort
        ? "--http-addr"
        : "--api-addr";
  if (e.code === "EADDRINUSE")
    return new GantryError(
      "address_in_use",
      `cannot listen on ${where}: the address is already in use; choose another with ${flag}`,
    );
  if (e.code === "EACCES" || e.code === "EADDRNOTAVAIL")
    return new GantryError(
      "address_unavailable",
      `cannot listen on ${where} (${e.code}); choose another with ${flag}`,
    );
  return err;
}

export function registerUpCommands(program: Command, o: Output): void {
  program
    .command("up")
    .description(
      "run the all-in-one platform on this machine (control plane, embedded store, local agent, router)",
    )
    .option("--data-dir <dir>", "where state and the admin token live", defaultDataDir())
    .option("--api-addr <host:port>", "API listen address", "127.0.0.1:7700")
    .option("--http-addr <host:port>", "router listen address (apps)", "127.0.0.1:8080")
    .option(
      "--https-addr <host:port>",
      "router HTTPS listen address (default 127.0.0.1:8443; when that is taken, a free port)",
    )
    .option("--node-name <name>", "this machine's node name (default: the host name)")
    .option("--domain <domain>", "apps are served at <app>.<domain> by the router", "localhost")
    .option(
      "--router-workers <n>",
      "router worker processes; 0 serves in the main process (default: 0 on 1-2 CPUs, else one per CPU, at most 8)",
    )
    .option(
      "--deploy-resync <duration>",
      "how often the deploy controller looks at every app without being told (a safety net; default 10s)",
    )
    .option(
      "--node-grace <duration>",
      "how long a node may be gone (its 3 s lease expired) before its instances start on live nodes (default 3s)",
    )
    .option(
      "--port-range <first-last>",
      "the ports app instances get ($PORT), outside the kernel's ephemeral range (default 20000-32000, or where that overlaps it the largest range outside it)",
    )
    .option(
      "--registry-addr <host:port>",
      "where Gantry's image registry listens (default 127.0.0.1:5000; a taken default gives way to a free port)",
    )
    .option("--no-registry", "do not run the image registry")
    .option(
      "--tls",
      "serve the API over HTTPS with the cluster CA (DATA_DIR/ca.crt) on loopback too (always beyond 127.0.0.1)",
    )
    .option(
      "--image-retention <n>",
      "keep the registry images of the last N releases per app (default 5)",
    )
    .addOption(acmeOption("directory"))
    .addOption(acmeOption("email"))
    .addOption(acmeOption("ca"))
    .addOption(acmeOption("renewBefore"))
    .option(
      "--low-latency",
      "keep idle CPUs ready to run at once (PM QoS, needs root): trims the router's tail latency on VMs; idle CPUs poll instead of sleeping",
    )
    .addHelpText(
      "after",
      `
Examples:
  $ gantry up
  $ gantry up --data-dir /var/lib/gantry --api-addr 127.0.0.1:7700
  $ gantry up --node-name web-1
  $ gantry up --http-addr 0.0.0.0:80 --domain apps.example.com
  $ gantry up --port-range 10000-19999
  $ gantry up --tls                      # HTTPS on loopback too (CA in DATA_DIR/ca.crt)
  $ gantry up --registry-addr 127.0.0.1:5001 --image-retention 10
  $ sudo gantry up --http-addr 0.0.0.0:80 --https-addr 0.0.0.0:443 \\
      --acme-directory https://acme-v02.api.letsencrypt.org/directory --acme-email ops@example.com
  $ sudo gantry up --http-addr 0.0.0.0:80 --low-latency   # a dedicated edge machine`,
    )
    .action(async (opts: UpOptions) => {
      const api = parseHostPort(opts.apiAddr, "--api-addr");
      const http = parseHostPort(opts.httpAddr, "--http-addr");
      const https = parseHostPort(opts.httpsAddr ?? "127.0.0.1:8443", "--https-addr");
      const domain = parseDomain(opts.domain);
      const routerWorkers =
        opts.routerWorkers === undefined ? undefined : parseRouterWorkers(opts.routerWorkers);
      const deployResyncMs = parseResync(opts.deployResync);
      const grace = nodeGraceOption(opts.nodeGrace);
      const portRange =
        opts.portRange === undefined ? undefined : parsePortRange(opts.portRange, "--port-range");
      const acme = parseAcmeFlags(opts);
      await serveUntilSignal(
        o,
        async () =>
          (await import("../server/up.js")).startUp({
            dataDir: opts.dataDir,
            apiHost: api.host,
            apiPort: api.port,
            httpHost: http.host,
            httpPort: http.port,
            https: { ...https, explicit: opts.httpsAddr !== undefined },
            appDomain: domain,
            nodeName: opts.nodeName ?? defaultNodeName(),
            ...(routerWorkers === undefined ? {} : { routerWorkers }),
            ...(deployResyncMs === undefined ? {} : { deployResyncMs }),
            ...grace,
            ...(portRange === undefined ? {} : { portRange }),
            ...registryOptions(opts, api.host, true),
            ...(opts.tls === true ? { tls: true } : {}),
            ...(acme === undefined ? {} : { acme }),
          }),
        "Gantry",
        {
          apiPort: api.port,
          httpPort: http.port,
          httpsPort: https.port,
          lowLatency: opts.lowLatency === true,
          ...(acme === undefined ? {} : { acme: acme.url }),
        },
      );
    });

  program
    .command("server")
    .description("run the control plane (API) on a store: the embedded one, or an etcd cluster")
    .option(
      "--data-dir <dir>",
      "where the admin token (and the embedded store) live",
      defaultDataDir(),
    )
    .option(
      "--store <location>",
      "etcd://HOST:PORT[,HOST:PORT…] or a directory (default: DATA_DIR/store)",
    )
    .option("--api-addr <host:port>", "API listen address", "127.0.0.1:7700")
    .option(
      "--deploy-resync <duration>",
      "how often the deploy controller looks at every app without being told (a safety net; default 10s)",
    )
    .option(
      "--node-grace <duration>",
      "how long a node may be gone (its 3 s lease expired) before its instances start on live nodes (default 3s)",
    )
    .option(
      "--registry-addr <host:port>",
      "where Gantry's image registry listens (default: the API's host, port 5000)",
    )
    .option("--no-registry", "do not run the image registry")
    .option(
      "--tls",
      "serve the API over HTTPS with the cluster CA (DATA_DIR/ca.crt) on loopback too (always beyond 127.0.0.1)",
    )
    .option(
      "--image-retention <n>",
      "keep the registry images of the last N releases per app (default 5)",
    )
    .addOption(acmeOption("directory"))
    .addOption(acmeOption("email"))
    .addOption(acmeOption("ca"))
    .addOption(acmeOption("renewBefore"))
    .addHelpText(
      "after",
      `
Examples:
  $ gantry server --store etcd://127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379
  $ gantry server --data-dir /var/lib/gantry --api-addr 0.0.0.0:7700   # HTTPS (beyond loopback)
  $ gantry server --registry-addr 10.0.0.5:5000   # agents pull from the node network
  $ gantry server --acme-directory https://acme-staging-v02.api.letsencrypt.org/directory`,
    )
    .action(async (opts: UpOptions) => {
      const api = parseHostPort(opts.apiAddr, "--api-addr");
      const deployResyncMs = parseResync(opts.deployResync);
      const grace = nodeGraceOption(opts.nodeGrace);
      const acme = parseAcmeFlags(opts);
      const cluster = clusterOptions(opts, { apiHost: api.host, dataDir: opts.dataDir });
      const autopilot = parseAutopilotFlags(opts);
      await serveUntilSignal(
        o,
        async () =>
          (await import("../server/server.js")).startServer({
            dataDir: opts.dataDir,
            apiHost: api.host,
            apiPort: api.port,
            ...(cluster === undefined ? {} : { cluster }),
            ...(autopilot === undefined ? {} : { autopilot }),
            ...(deployResyncMs === undefined ? {} : { deployResyncMs }),
            ...grace,
            ...(opts.store === undefined ? {} : { store: opts.store }),
            ...registryOptions(opts, api.host, false),
            ...(opts.tls === true ? { tls: true } : {}),
            ...(acme === undefined ? {} : { acme }),
          }),
        "Gantry server",
        { apiPort: api.port, ...(acme === undefined ? {} : { acme: acme.url }) },
      );
    });
  addClusterFlags(program.commands.find((c) => c.name() === "server")!);
  addAutopilotFlags(program.commands.find((c) => c.name() === "server")!);
}

/**
 * The registry flags as server options: --no-registry turns it off; --registry-addr given on the
 * command line must be free (its default, when taken, gives way to a free port).
 */
export function registryOptions(
  opts: Pick<UpOptions, "registry" | "registryAddr" | "imageRetention">,
  apiHost: string,
  /** `gantry up`: loopback by default, whatever the API's host. */
  upDefault: boolean,
): {
  registry: { host: string; port: number; explicit: boolean } | false;
  imageRetention?: number;
} {
  const retention = opts.imageRetention;
  const keep =
    retention === undefined ? undefined : /^\d{1,4}$/.test(retention) ? Number(retention) : NaN;
  if (keep !== undefined && !(keep >= 1))
    throw new ValidationError(
      `--image-retention must be a whole number from 1 to 9999, got "${retention}"`,
      "--image-retention",
    );
  if (!opts.registry) return { registry: false };
  const raw = opts.registryAddr ?? `${upDefault ? "127.0.0.1" : apiHost}:5000`;
  const explicit = opts.registryAddr !== undefined;
  const addr = parseHostPort(raw, "--registry-addr");
  return {
    registry: { host: addr.host, port: addr.port, explicit },
    ...(keep === undefined ? {} : { imageRetention: keep }),
  };
}

/** --domain: a host name, lower-cased, without a trailing dot. */
export function parseDomain(raw: string): string {
  const domain = raw.toLowerCase().replace(/\.$/, "");
  if (!ROUTER_DOMAIN.test(domain))
    throw new ValidationError(
      `--domain must be a host name like localhost or apps.example.com, got "${raw}"`,
      "--domain",
    );
  return domain;
}

/** --deploy-resync: a duration from 1s to 24h. */
export const parseResync = (raw: string | undefined): number | undefined =>
  parseDurationFlag(raw, "--deploy-resync", {
    minMs: 1000,
    maxMs: 86_400_000,
    range: "1s to 24h",
    like: "10s or 1h",
  });

/** --router-workers (`gantry router`: --workers): a whole number from 0 to 64. */
export function parseRouterWorkers(raw: string, flag = "--router-workers"): number {
  const n = /^\d{1,2}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 0 && n <= 64))
    throw new ValidationError(`${flag} must be a whole number from 0 to 64, got "${raw}"`, flag);
  return n;
}
