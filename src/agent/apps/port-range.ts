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
  const free =
    ephemeralOverlap(DEFAULT_PORT_RANGE, eph) === undefined
      ? DEFAULT_PORT_RANGE
      : largestOutside(eph);
  const outside = free === undefined ? "" : ` (e.g. --port-range ${formatRange(free)})`;
  throw new PortRangeOverlapError(
    `the instance port range ${formatRange(range)} overlaps the kernel's ephemeral port range ` +
      `${formatRange(eph.range)} (net.ipv4.ip_local_port_range) in ${formatRange(overlap)}: ` +
      `outgoing connections take their source ports from there and could take an instance's port ` +
      `before the app binds it. Choose a range outside ${formatRange(eph.range)}${outside}, or ` +
      `reserve these ports: sysctl -w net.ipv4.ip_local_reserved_ports=${formatRange(range)}`,
    field,
  );
}

/** A range chosen for the agent smaller than this is not worth it: the default stays instead. */
export const MIN_CHOSEN_PORTS = 1000;

/**
 * The largest stretch of 1024-65535 (the first when two are as large) holding neither the
 * kernel's ephemeral ports nor its reserved ones (those are kept for some known program), if
 * one of at least MIN_CHOSEN_PORTS ports exists.
 */
export function largestOutside(eph: EphemeralPorts): PortRange | undefined {
  const taken = [eph.range, ...eph.reserved].sort((a, b) => a.first - b.first);
  let best: PortRange | undefined;
  let cur = 1024;
  for (const r of [...taken, { first: 65536, last: 65536 }]) {
    const gap = { first: cur, last: Math.min(r.first - 1, 65535) };
    if (gap.last >= gap.first && (best === undefined || rangeSize(gap) > rangeSize(best)))
      best = gap;
    cur = Math.max(cur, r.last + 1);
  }
  return best !== undefined && rangeSize(best) >= MIN_CHOSEN_PORTS ? best : undefined;
}

/** The agent's instance port range, and a line to log when it is not what one would expect. */
export interface PortRangeChoice {
  range: PortRange;
  note?: string;
}

/**
 * The range an agent uses: the one the user gave (refused with a PortRangeOverlapError when it
 * overlaps the kernel's ephemeral ports), else the default; where the default overlaps them,
 * the largest stretch outside (largestOutside), or, without one, the default all the same —
 * a port taken before the app binds it then moves the instance — each said in `note`.
 */
export function choosePortRange(
  given: PortRange | undefined,
  eph: EphemeralPorts | undefined,
  field = "--port-range",
): PortRangeChoice {
  if (given !== undefined) {
    checkPortRange(given, eph, field);
    return { range: given };
  }
  const overlap = eph === undefined ? undefined : ephemeralOverlap(DEFAULT_PORT_RANGE, eph);
  if (eph === undefined || overlap === undefined) return { range: DEFAULT_PORT_RANGE };
  const kernel =
    `the kernel's ephemeral ports ${formatRange(eph.range)} (net.ipv4.ip_local_port_range) ` +
    `overlap the default ${formatRange(DEFAULT_PORT_RANGE)} in ${formatRange(overlap)}`;
  const chosen = largestOutside(eph);
  if (chosen !== undefined)
    return {
      range: chosen,
      note:
        `instance ports: ${formatRange(chosen)}, the largest range outside the kernel's ` +
        `ephemeral${eph.reserved.length > 0 ? " and reserved" : ""} ports, because ${kernel} ` +
        `(--port-range chooses another)`,
    };
  return {
    range: DEFAULT_PORT_RANGE,
    note:
      `instance ports: ${formatRange(DEFAULT_PORT_RANGE)} although ${kernel} and no ` +
      `${MIN_CHOSEN_PORTS} ports in a row lie outside them: an instance whose port an outgoing ` +
      `connection takes moves to another; to avoid that, reserve them: ` +
      `sysctl -w net.ipv4.ip_local_reserved_ports=${formatRange(DEFAULT_PORT_RANGE)}`,
  };
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
