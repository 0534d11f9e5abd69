import { join } from "node:path";
import type { ExecPoolSettings, SshPoolSettings } from "../model/pool.js";
import { DockerProvider } from "../pools/docker/index.js";
import { ExecProvider } from "../pools/exec/index.js";
import { LocalProvider } from "../pools/local/index.js";
import { providerRegistry, type ProviderRegistry } from "../pools/provider.js";
import { SshProvider } from "../pools/ssh/index.js";

/** What the server knows that providers may need. */
export interface PoolProviderContext {
  /** The server's data directory: providers keep their own state under `<dataDir>/pools/<kind>/`. */
  dataDir: string;
  /** How to run gantry on this machine (default: this process's node and entry script). */
  gantry?: string[];
  /** Where `ssh` pools keep nodes on their hosts (the ssh provider's `root`; default /opt/gantry). */
  sshRoot?: string;
  log: (line: string) => void;
}

/**
 * The node providers this server offers pools, by the name a pool gives in `provider:`
 * (docs/pools.md). `local` is one object for every pool (its nodes live under the data dir);
 * the others are made per pool from its settings (a docker pool's image, an ssh pool's hosts, an
 * exec pool's commands), and made again when those change. A pool naming a provider missing
 * here is reported in its status (`halted`). The API and the stack refuse a pool whose
 * provider settings are missing, so the settings below are there.
 */
export function poolProviders(ctx: PoolProviderContext): ProviderRegistry {
  const local = new LocalProvider({
    root: join(ctx.dataDir, "pools", "local"),
    ...(ctx.gantry === undefined ? {} : { gantry: ctx.gantry }),
    log: ctx.log,
  });
  return providerRegistry({
    local: () => local,
    docker: (pool) => new DockerProvider(pool.spec.docker ? { settings: pool.spec.docker } : {}),
    ssh: (pool) =>
      new SshProvider(pool.spec.ssh as SshPoolSettings, {
        baseDir: ctx.dataDir,
        ...(ctx.sshRoot === undefined ? {} : { root: ctx.sshRoot }),
        log: ctx.log,
      }),
    exec: (pool) => new ExecProvider(pool.spec.exec as ExecPoolSettings, { cwd: ctx.dataDir }),
  });
}
