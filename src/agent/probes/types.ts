import type { HealthStatus } from "../../model/service.js";

/** The outcome of running a check once. */
export interface ProbeResult {
  status: HealthStatus;
  output: string;
}

/** Where a check runs against: the instance's address and port. */
export interface ProbeTarget {
  address: string;
  port: number;
}

/** Output longer than this is cut (the API keeps at most 4 KB). */
export const OUTPUT_LIMIT = 4000;

export function clip(text: string, limit = OUTPUT_LIMIT): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** `host:port`, with IPv6 addresses in brackets. */
export function hostPort(address: string, port: number): string {
  return address.includes(":") && !address.startsWith("[")
    ? `[${address}]:${port}`
    : `${address}:${port}`;
}
