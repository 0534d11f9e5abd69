import { acmeChallenge } from "../client/acme.js";
import { GantryClient } from "../client/client.js";
import { routerPolicies } from "../model/policies.js";
import { ApiRouteSource } from "../router/api-source.js";
import { LocalhostCertSource } from "../certs/localhost.js";
import { combineCertSources, StoreCertSource } from "../certs/store-source.js";
import { StaticCertSource, type CertSource } from "../router/https.js";
import { defaultRouterWorkers } from "../router/index.js";
import { startRouter, type RunningRouter } from "../router/router.js";
import type { RouteSource } from "../router/source.js";
import { ensureClusterCa } from "../tls/ca.js";
import { ensureLocalToken } from "./local-tokens.js";
import type { RunningServer } from "./server.js";

export interface LocalRouterOptions {
  dataDir: string;
  host: string;
  port: number;
  https: { host: string; port: number; explicit: boolean };
  domain: string;
  /** Default: defaultRouterWorkers(). */
  workers?: number;
  log?: (line: string) => void;
}

/**
 * The router of `gantry up`: it follows the API over HTTP with its own read-only token (created
 * once, kept in DATA_DIR/router.token), exactly as a router on another machine would.
 */
export async function startLocalRouter(
  server: RunningServer,
  opts: LocalRouterOptions,
): Promise<RunningRouter> {
  const token = await ensureLocalToken(
    server.api.deps.tokens,
    opts.dataDir,
    "router.token",
    "router",
    routerPolicies,
  );
  const client = new GantryClient({ addr: server.url, token });
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  let source: RouteSource = new ApiRouteSource({ client, ...(opts.log ? { log: opts.log } : {}) });
  const deps = server.api.deps;
  let certs: CertSource =
    deps.apps?.secrets === undefined
      ? new StaticCertSource()
      : new StoreCertSource(deps.store, deps.apps.secrets, log);
  // Apps at <app>.localhost are served over HTTPS with certificates from the cluster CA.
  if (opts.domain === "localhost") {
    let ca: ReturnType<typeof ensureClusterCa> | undefined;
    const loadCa = (): ReturnType<typeof ensureClusterCa> => (ca ??= ensureClusterCa(opts.dataDir));
    const local = new LocalhostCertSource(loadCa, opts.domain, log);
    source = local.follow(source);
    certs = combineCertSources(local, certs);
  }
  return startRouter({
    listen: { host: opts.host, port: opts.port },
    challenges: (token) => acmeChallenge(client, token),
    https: { ...opts.https, certs },
    domain: opts.domain,
    source,
    workers: opts.workers ?? defaultRouterWorkers(),
    ...(opts.log ? { log: opts.log } : {}),
  });
}
