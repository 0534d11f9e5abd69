/**
 * What the processes that join a Gantry server from elsewhere (`gantry agent`, `gantry router`)
 * share: where the server is, the token they use, and running until Ctrl-C.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseServerList } from "../client/servers.js";
import { ValidationError } from "../errors.js";
import { trustCaFile } from "./config.js";

export interface JoinOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
}

/**
 * --server (or $GANTRY_ADDR) as URLs: one, or several servers of a cluster separated by commas
 * (`URL[,URL…]`; the client moves to the next when one gives no answer), returned joined by
 * commas. `http://` is added to a bare host:port. An https server's certificate is checked
 * against $GANTRY_CA when it is set (the system's CAs otherwise).
 */
export function serverAddr(opts: JoinOptions, env: NodeJS.ProcessEnv): string {
  const server = opts.server ?? env["GANTRY_ADDR"];
  if (server === undefined || server.trim() === "")
    throw new ValidationError("--server is required (or $GANTRY_ADDR)", "--server");
  const addrs = parseServerList(server).map((s) => {
    const addr = /^https?:\/\//.test(s) ? s : `http://${s}`;
    try {
      new URL(addr);
    } catch {
      throw new ValidationError(
        `--server must be a URL (or URLs separated by commas), got "${s}"`,
        "--server",
      );
    }
    return addr;
  });
  if (addrs.length === 0)
    throw new ValidationError("--server is required (or $GANTRY_ADDR)", "--server");
  const ca = env["GANTRY_CA"];
  if (addrs.some((a) => a.startsWith("https://")) && ca !== undefined && ca !== "")
    trustCaFile(ca, "GANTRY_CA");
  return addrs.join(",");
}

/** The first of the servers serverAddr gave (joins go there). */
export function firstServer(addr: string): string {
  return parseServerList(addr)[0] ?? addr;
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
