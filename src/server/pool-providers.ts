import { join } from "node:path";
import type { NodeProvider } from "../pools/provider.js";
import { LocalProvider } from "../pools/local/index.js";

/** What the server knows that providers may need. */
export interface PoolProviderContext {
  /** The server's data directory: providers keep their own state under `<dataDir>/pools/<kind>/`. */
  dataDir: string;
  /** How to run gantry on this machine (default: this process's node and entry script). */
  gantry?: string[];
  log: (line: string) => void;
}

/**
 * The node providers this server offers pools, by the name a pool gives in `provider:`
 * (docs/pools.md). The pool controller looks them up here; a pool naming one that is missing is
 * reported in its status (`halted`). Add a provider by adding its entry.
 */
export function poolProviders(ctx: PoolProviderContext): Record<string, NodeProvider> {
  return {
    local: new LocalProvider({
      root: join(ctx.dataDir, "pools", "local"),
      ...(ctx.gantry === undefined ? {} : { gantry: ctx.gantry }),
      log: ctx.log,
    }),
  };
}
