import { existsSync, readFileSync } from "node:fs";
import { arch, cpus, hostname, networkInterfaces, platform, totalmem } from "node:os";
import type { Facts } from "./types.js";

export interface FactsOptions {
  roles: string[];
  labels: Record<string, string>;
  /** For tests: where os-release and the systemd marker are read from. */
  root?: string;
}

/** What this node is, gathered once per run: readable as `facts.*` in states and templates. */
export async function gatherFacts(opts: FactsOptions): Promise<Facts> {
  const root = opts.root ?? "";
  return {
    os: platform(),
    distribution: distribution(readOsRelease(root)),
    arch: arch(),
    cpus: Math.max(1, cpus().length),
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    hostname: hostname(),
    addresses: addresses(),
    init: existsSync(`${root}/run/systemd/system`) ? "systemd" : "sysv",
    roles: [...opts.roles],
    labels: { ...opts.labels },
    // A pool node is given these two labels by the pool controller (docs/pools.md).
    ...(opts.labels["address"] === undefined ? {} : { address: opts.labels["address"] }),
    ...(opts.labels["pool"] === undefined ? {} : { pool: opts.labels["pool"] }),
  };
}

function readOsRelease(root: string): string {
  for (const f of [`${root}/etc/os-release`, `${root}/usr/lib/os-release`]) {
    try {
      return readFileSync(f, "utf8");
    } catch {
      // try the next one
    }
  }
  return "";
}

/** `ID`, `VERSION_ID` and `VERSION_CODENAME` of an os-release file (shell-style assignments). */
export function distribution(osRelease: string): Facts["distribution"] {
  const values: Record<string, string> = {};
  for (const line of osRelease.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    values[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, "$2");
  }
  return {
    id: values["ID"] ?? "unknown",
    version: values["VERSION_ID"] ?? "",
    codename: values["VERSION_CODENAME"] ?? "",
  };
}

/** Non-internal addresses first (IPv4 before IPv6), loopback last. */
function addresses(): string[] {
  const external: { v4: string[]; v6: string[] } = { v4: [], v6: [] };
  const internal: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal) internal.push(a.address);
      else (a.family === "IPv4" ? external.v4 : external.v6).push(a.address);
    }
  }
  return [...external.v4, ...external.v6, ...internal];
}
