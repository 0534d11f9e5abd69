/**
 * What the processes that join a Gantry server from elsewhere (`gantry agent`, `gantry router`)
 * share: where the server is, the token they use, and running until Ctrl-C.
 */
import { existsSync, readFileSync } from "node:fs";
import { ValidationError } from "../errors.js";
import { trustCaFile } from "./config.js";

export interface JoinOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
}

/**
 * --server (or $GANTRY_ADDR) as a URL; `http://` is added to a bare host:port. An https server's
 * certificate is checked against $GANTRY_CA when it is set (the system's CAs otherwise).
 */
export function serverAddr(opts: JoinOptions, env: NodeJS.ProcessEnv): string {
  const server = opts.server ?? env["GANTRY_ADDR"];
  if (server === undefined || server === "")
    throw new ValidationError("--server is required (or $GANTRY_ADDR)", "--server");
  const addr = /^https?:\/\//.test(server) ? server : `http://${server}`;
  try {
    new URL(addr);
  } catch {
    throw new ValidationError(`--server must be a URL, got "${server}"`, "--server");
  }
  const ca = env["GANTRY_CA"];
  if (addr.startsWith("https://") && ca !== undefined && ca !== "") trustCaFile(ca, "GANTRY_CA");
  return addr;
}

/** The token: --token, else --token-file, else $GANTRY_TOKEN; `missing` says how to make one. */
export function joinToken(opts: JoinOptions, env: NodeJS.ProcessEnv, missing: string): string {
  if (opts.token !== undefined && opts.token !== "") return opts.token;
  if (opts.tokenFile !== undefined) {
    if (!existsSync(opts.tokenFile))
      throw new ValidationError(`--token-file ${opts.tokenFile} does not exist`, "--token-file");
    return readFileSync(opts.tokenFile, "utf8").trim();
  }
  const fromEnv = env["GANTRY_TOKEN"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  throw new ValidationError(missing, "--token");
}

/** Resolves at SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
