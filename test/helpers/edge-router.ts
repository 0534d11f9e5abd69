import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli, type GantryProcess } from "./gantry.js";
import { eventually } from "./paas.js";
import { freePort } from "./ports.js";

/** A standalone `gantry router` following `server` with a read-only token kept in `work`. */
export interface EdgeRouter {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Start `gantry router` on 127.0.0.1:httpPort (HTTPS on a free port) and wait for its banner. */
export async function startEdgeRouter(
  server: GantryProcess,
  work: string,
  httpPort: number,
): Promise<EdgeRouter> {
  const made = await server.cli([
    "tokens",
    "create",
    "router-edge",
    "--policy",
    "app::read",
    "--policy",
    "service::read",
    "--json",
  ]);
  if (made.code !== 0) throw new Error(`tokens create failed: ${made.stderr}`);
  const file = join(work, "router.token");
  writeFileSync(file, (JSON.parse(made.stdout) as { secret: string }).secret + "\n", {
    mode: 0o600,
  });
  const child = spawnCli(
    [
      "router",
      "--server",
      server.url,
      "--token-file",
      file,
      "--http-addr",
      `127.0.0.1:${httpPort}`,
      "--https-addr",
      `127.0.0.1:${await freePort()}`,
    ],
    { GANTRY_TOKEN: "", GANTRY_ADDR: "" },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await eventually("the router's banner", () =>
    out.includes(`router on http://127.0.0.1:${httpPort}`) ? true : undefined,
  );
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
