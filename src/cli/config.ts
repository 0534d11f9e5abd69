import { existsSync, readFileSync } from "node:fs";
import { GantryClient } from "../client/client.js";
import { parseServerList } from "../client/servers.js";
import { trustCa } from "../client/transport.js";
import { ValidationError } from "../errors.js";
import { dataFiles, defaultDataDir } from "../server/datadir.js";

export const DEFAULT_API = "http://127.0.0.1:7700";

/**
 * The API client for CLI commands: GANTRY_ADDR and GANTRY_TOKEN, else what `gantry up` saved in
 * the default data directory, else the default address.
 */
export function clientFromEnv(env: NodeJS.ProcessEnv = process.env): GantryClient {
  const files = dataFiles(env["GANTRY_DATA_DIR"] ?? defaultDataDir());
  const saved = (path: string): string | undefined =>
    existsSync(path) ? readFileSync(path, "utf8").trim() || undefined : undefined;
  // GANTRY_ADDR may name several servers of a cluster: URL[,URL…] (docs/ha.md, "Failover").
  const addr = parseServerList(env["GANTRY_ADDR"] ?? saved(files.apiAddr) ?? DEFAULT_API)
    .map((a) => (/^https?:\/\//.test(a) ? a : `http://${a}`))
    .join(",");
  const token = env["GANTRY_TOKEN"] ?? saved(files.adminToken);
  if (addr.includes("https://")) {
    const given = env["GANTRY_CA"] || undefined;
    const ca = given ?? (existsSync(files.ca) ? files.ca : undefined);
    if (ca !== undefined)
      trustCaFile(ca, given === undefined ? "the data directory's ca.crt" : "GANTRY_CA");
  }
  return new GantryClient({
    addr,
    onStale: printStaleOnce,
    ...(token === undefined ? {} : { token }),
  });
}

let staleShown = false;
let staleOut: (line: string) => void = (line) => process.stderr.write(line + "\n");

/** Where "(stale)" goes (the command's stderr), shown again once per command. */
export function staleNoticeTo(err: (line: string) => void): void {
  staleOut = err;
  staleShown = false;
}

/**
 * An answer read while the control plane had lost quorum may be out of date: say so once, on
 * stderr (so that tables and --json output stay as they are).
 */
export function printStaleOnce(): void {
  if (staleShown) return;
  staleShown = true;
  staleOut(
    "(stale) the control plane has lost quorum: this answer may be out of date (writes fail until it is back)",
  );
}

/** Trust the CA certificate in `path` for https requests; `what` names where the path came from. */
export function trustCaFile(path: string, what: string): void {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    throw new ValidationError(
      `${what}: cannot read ${path} (${code}); point GANTRY_CA at the cluster's ca.crt`,
      "GANTRY_CA",
    );
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new ValidationError(
      `${what}: ${path} is not a PEM certificate; point GANTRY_CA at the cluster's ca.crt`,
      "GANTRY_CA",
    );
  trustCa(pem);
}

/** Parse `HOST:PORT` (IPv6 in brackets), naming the option when it is wrong. */
export function parseHostPort(raw: string, option: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
  const port = Number(m?.[2]);
  if (m === null || port > 65535)
    throw new ValidationError(`${option} must be HOST:PORT, got "${raw}"`, option);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}
