import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import type { TokenRegistry } from "../api/tokens.js";
import { GantryError } from "../errors.js";
import type { Policy } from "../model/token.js";
import { RegistryService } from "../registry/index.js";
import type { Store } from "../store/index.js";
import { ensureLocalToken } from "./local-tokens.js";

/** Where the registry listens, and whether the user chose it (a taken chosen port is an error). */
export interface RegistryAddr {
  host: string;
  port: number;
  explicit: boolean;
}

export interface StartRegistryOptions {
  dataDir: string;
  store: Store;
  tokens: TokenRegistry;
  /** The API's URL as this machine reaches it (the token realm is under it). */
  apiUrl: string;
  addr: RegistryAddr;
  keepReleases?: number;
  log: (line: string) => void;
}

/** What the server pushes with: apps' repositories and baked node images, nothing else. */
const PUSH_POLICIES: Policy[] = [
  { resource: "app", prefix: "", access: "write" },
  { resource: "stack", prefix: "images/", access: "write" },
];

/** Debian's `/usr/bin/docker-registry`, else `docker-registry` on PATH; undefined when neither. */
export function findRegistryBinary(path = process.env["PATH"] ?? ""): string | undefined {
  for (const dir of ["/usr/bin", ...path.split(delimiter).filter((d) => d !== "")]) {
    const file = join(dir, "docker-registry");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Start Gantry's registry beside the API when docker-registry is installed (undefined when not).
 * The port: the chosen one must be free (else a clear error naming --registry-addr); the default
 * one, when taken, gives way to a free port and says so in one line. The registry comes up in
 * the background: `GET /v1/registry` says `running` once it answers.
 */
export async function startRegistry(o: StartRegistryOptions): Promise<RegistryService | undefined> {
  const binary = findRegistryBinary();
  if (binary === undefined) return undefined;
  const port = await choosePort(o.addr, o.log);
  const realmBase = o.apiUrl.replace(/\/\/(0\.0\.0\.0|\[::\])(?=:)/, "//127.0.0.1");
  const pushSecret = await ensureLocalToken(
    o.tokens,
    o.dataDir,
    "registry.token",
    "registry",
    PUSH_POLICIES,
  );
  const svc = await RegistryService.create({
    dataDir: o.dataDir,
    store: o.store,
    binary,
    host: o.addr.host,
    port,
    realm: `${realmBase}/v1/registry/token`,
    pushSecret,
    log: o.log,
    ...(o.keepReleases === undefined ? {} : { keepReleases: o.keepReleases }),
  });
  svc.start().catch((err: Error) => o.log(`registry: ${err.message}`));
  return svc;
}

async function choosePort(addr: RegistryAddr, log: (line: string) => void): Promise<number> {
  const err = await tryListen(addr.host, addr.port);
  if (err === undefined) return addr.port;
  const where = `${addr.host}:${addr.port}`;
  if (addr.explicit || err.code !== "EADDRINUSE")
    throw new GantryError(
      err.code === "EADDRINUSE" ? "address_in_use" : "address_unavailable",
      `cannot run the registry on ${where} (${err.code === "EADDRINUSE" ? "the address is already in use" : err.code}); choose another with --registry-addr, or --no-registry`,
    );
  const port = await freePort(addr.host);
  log(`registry: ${where} is taken; using port ${port} instead (choose one with --registry-addr)`);
  return port;
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen(port, host, () => srv.close(() => resolve(undefined)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const a = srv.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
