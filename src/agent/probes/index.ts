import { durationMs } from "../../model/duration.js";
import type { StoredCheck } from "../../model/service.js";
import { execProbe } from "./exec.js";
import { httpProbe } from "./http.js";
import { tcpProbe } from "./tcp.js";
import { hostPort, type ProbeResult, type ProbeTarget } from "./types.js";

export type { ProbeResult, ProbeTarget } from "./types.js";

/** The I/O the agent does to run checks; tests may swap any of them. */
export interface Probes {
  http: typeof httpProbe;
  tcp: typeof tcpProbe;
  exec: typeof execProbe;
}

export const realProbes: Probes = { http: httpProbe, tcp: tcpProbe, exec: execProbe };

/** Checks the agent runs on a clock (ttl checks are reported by others). */
export type ActiveCheck = Exclude<StoredCheck, { type: "ttl" }>;

/** How long a run may take: the check's timeout, else its interval capped at 10 s. */
export function timeoutOf(check: ActiveCheck): number {
  return check.timeout !== undefined
    ? durationMs(check.timeout)
    : Math.min(durationMs(check.interval), 10_000);
}

/** The URL an http check requests: its own, or its path on the instance. */
export function httpUrl(
  check: Extract<StoredCheck, { type: "http" }>,
  target: ProbeTarget,
): string {
  return check.url ?? `http://${hostPort(target.address, target.port)}${check.path ?? "/"}`;
}

/** Run one check once. */
export function runProbe(
  probes: Probes,
  check: ActiveCheck,
  target: ProbeTarget,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const timeout = timeoutOf(check);
  switch (check.type) {
    case "http":
      return probes.http(httpUrl(check, target), timeout, signal, check.expect);
    case "tcp": {
      if (check.address === undefined)
        return probes.tcp(target.address, target.port, timeout, signal);
      const at = check.address.lastIndexOf(":");
      return probes.tcp(
        check.address.slice(0, at),
        Number(check.address.slice(at + 1)),
        timeout,
        signal,
      );
    }
    case "exec":
      return probes.exec(check.command, timeout, signal);
  }
}
