import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GantryError, ValidationError } from "../../errors.js";

/** A range of TCP ports, both ends included. */
export interface PortRange {
  first: number;
  last: number;
}

/**
 * Where instance ports come from unless the agent is told otherwise: Nomad's dynamic port range,
 * below Linux's default ephemeral range (32768–60999), from which every outgoing connection takes
 * its source port (issue 19).
 */
export const DEFAULT_PORT_RANGE: PortRange = { first: 20000, last: 32000 };

export const formatRange = (r: PortRange): string => `${r.first}-${r.last}`;

export const rangeSize = (r: PortRange): number => r.last - r.first + 1;

/** `--port-range 20000-32000`: two ports from 1024 to 65535, the first not above the last. */
export function parsePortRange(raw: string, field = "--port-range"): PortRange {
  const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(raw);
  const r = m === null ? undefined : { first: Number(m[1]), last: Number(m[2]) };
  if (r === undefined || r.first < 1024 || r.last > 65535 || r.first > r.last)
    throw new ValidationError(
      `${field} must be FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, e.g. ${formatRange(DEFAULT_PORT_RANGE)}; got "${raw}"`,
      field,
    );
  return r;
}

/** The ports the kernel hands out as source ports: its range minus the ports reserved from it. */
export interface EphemeralPorts {
  range: PortRange;
  reserved: PortRange[];
}

/**
 * Parse `ip_local_port_range` ("32768\t60999") and `ip_local_reserved_ports` ("8080,20000-32000"
 * or empty); undefined when the range does not read as one.
 */
export function parseEphemeralPorts(
  rangeText: string,
  reservedText = "",
): EphemeralPorts | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(rangeText);
  if (m === null) return undefined;
  const reserved: PortRange[] = [];
  for (const part of reservedText.split(",")) {
    const r = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (r !== null) reserved.push({ first: Number(r[1]), last: Number(r[2] ?? r[1]) });
  }
  reserved.sort((a, b) => a.first - b.first);
  return { range: { first: Number(m[1]), last: Number(m[2]) }, reserved };
}

/** The first stretch of `range` the kernel may hand out as source ports, if there is one. */
export function ephemeralOverlap(range: PortRange, eph: EphemeralPorts): PortRange | undefined {
  const last = Math.min(range.last, eph.range.last);
  let cur = Math.max(range.first, eph.range.first);
  for (const r of eph.reserved) {
    if (cur > last) return undefined;
    if (r.last < cur) continue;
    if (r.first > cur) return { first: cur, last: Math.min(last, r.first - 1) };
    cur = r.last + 1;
  }
  return cur <= last ? { first: cur, last } : undefined;
}

/** The instance port range overlaps the kernel's ephemeral ports. */
export class PortRangeOverlapError extends GantryError {
  constructor(message: string, field: string) {
    super("port_range_overlap", message, { status: 400, field });
  }
}

/**
 * Throw a PortRangeOverlapError naming both ranges and what to do when outgoing connections
 * could take an instance's port between its pick and the app's bind.
 */
export function checkPortRange(
  range: PortRange,
  eph: EphemeralPorts | undefined,
  field = "--port-range",
): void {
  if (eph === undefined) return;
  const overlap = ephemeralOverlap(range, eph);
  if (overlap === undefined) return;
  const outside =
    ephemeralOverlap(DEFAULT_PORT_RANGE, eph) === undefined
      ? ` (e.g. --port-range ${formatRange(DEFAULT_PORT_RANGE)})`
      : "";
  throw new PortRangeOverlapError(
    `the instance port range ${formatRange(range)} overlaps the kernel's ephemeral port range ` +
      `${formatRange(eph.range)} (net.ipv4.ip_local_port_range) in ${formatRange(overlap)}: ` +
      `outgoing connections take their source ports from there and could take an instance's port ` +
      `before the app binds it. Choose a range outside ${formatRange(eph.range)}${outside}, or ` +
      `reserve these ports: sysctl -w net.ipv4.ip_local_reserved_ports=${formatRange(range)}`,
    field,
  );
}

/** The kernel's ephemeral ports, read from /proc; undefined where there is no such file. */
export function readEphemeralPorts(dir = "/proc/sys/net/ipv4"): EphemeralPorts | undefined {
  const rangeFile = join(dir, "ip_local_port_range");
  if (!existsSync(rangeFile)) return undefined;
  const reservedFile = join(dir, "ip_local_reserved_ports");
  return parseEphemeralPorts(
    readFileSync(rangeFile, "utf8"),
    existsSync(reservedFile) ? readFileSync(reservedFile, "utf8") : "",
  );
}
