import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkPortRange,
  choosePortRange,
  DEFAULT_PORT_RANGE,
  largestOutside,
  ephemeralOverlap,
  parseEphemeralPorts,
  parsePortRange,
  readEphemeralPorts,
} from "./port-range.js";

const linux = parseEphemeralPorts("32768\t60999\n")!;

describe("--port-range", () => {
  it("reads FIRST-LAST", () => {
    expect(parsePortRange("20000-32000")).toEqual({ first: 20000, last: 32000 });
    expect(parsePortRange(" 1024 - 1024 ")).toEqual({ first: 1024, last: 1024 });
  });

  it.each(["", "20000", "20000-", "32000-20000", "80-9000", "20000-70000", "a-b", "1e4-2e4"])(
    "refuses %j, naming the flag",
    (raw) => {
      expect(() => parsePortRange(raw)).toThrow(/--port-range must be FIRST-LAST/);
    },
  );
});

describe("the kernel's ephemeral ports", () => {
  it("reads ip_local_port_range and ip_local_reserved_ports", () => {
    expect(parseEphemeralPorts("32768\t60999\n", "8080,40000-40999\n")).toEqual({
      range: { first: 32768, last: 60999 },
      reserved: [
        { first: 8080, last: 8080 },
        { first: 40000, last: 40999 },
      ],
    });
    expect(parseEphemeralPorts("garbage")).toBeUndefined();
  });

  it("reads them from a /proc directory, and nothing where there is none", () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-proc-"));
    try {
      writeFileSync(join(dir, "ip_local_port_range"), "10000\t20000\n");
      expect(readEphemeralPorts(dir)).toEqual({
        range: { first: 10000, last: 20000 },
        reserved: [],
      });
      expect(readEphemeralPorts(join(dir, "missing"))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds where a range overlaps them, leaving out reserved ports", () => {
    expect(ephemeralOverlap(DEFAULT_PORT_RANGE, linux)).toBeUndefined();
    expect(ephemeralOverlap({ first: 30000, last: 40000 }, linux)).toEqual({
      first: 32768,
      last: 40000,
    });
    expect(ephemeralOverlap({ first: 61000, last: 62000 }, linux)).toBeUndefined();
    const wide = parseEphemeralPorts("1024 65535", "20000-25000,25001-29999,31000-32000")!;
    expect(ephemeralOverlap({ first: 20000, last: 32000 }, wide)).toEqual({
      first: 30000,
      last: 30999,
    });
    const reservedAll = parseEphemeralPorts("1024 65535", "10,20000-32000")!;
    expect(ephemeralOverlap(DEFAULT_PORT_RANGE, reservedAll)).toBeUndefined();
  });

  it("refuses an overlapping range naming both ranges and what to do", () => {
    expect(() => checkPortRange(DEFAULT_PORT_RANGE, linux)).not.toThrow();
    expect(() => checkPortRange({ first: 30000, last: 40000 }, undefined)).not.toThrow();
    let err: unknown;
    try {
      checkPortRange({ first: 30000, last: 40000 }, linux);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "port_range_overlap", field: "--port-range" });
    const msg = (err as Error).message;
    expect(msg).toContain("the instance port range 30000-40000");
    expect(msg).toContain("ephemeral port range 32768-60999");
    expect(msg).toContain("in 32768-40000");
    expect(msg).toContain("--port-range 20000-32000");
    expect(msg).toContain("net.ipv4.ip_local_reserved_ports=30000-40000");
    // Where the default overlaps too, the largest range outside is suggested, or none.
    expect(() =>
      checkPortRange({ first: 30000, last: 40000 }, parseEphemeralPorts("10000 65535")),
    ).toThrow(/outside 10000-65535 \(e\.g\. --port-range 1024-9999\), or reserve/);
    expect(() => checkPortRange(DEFAULT_PORT_RANGE, parseEphemeralPorts("1024 65535"))).toThrow(
      /outside 1024-65535, or reserve/,
    );
  });
});

describe("the range an agent uses", () => {
  it("is the one given, refused when it overlaps, whatever the default would be", () => {
    expect(choosePortRange({ first: 10000, last: 10999 }, linux)).toEqual({
      range: { first: 10000, last: 10999 },
    });
    expect(() => choosePortRange(DEFAULT_PORT_RANGE, parseEphemeralPorts("1024 65535"))).toThrow(
      /the instance port range 20000-32000 overlaps the kernel's ephemeral port range 1024-65535/,
    );
  });

  it("is the default, without a word, where the kernel leaves it alone", () => {
    expect(choosePortRange(undefined, linux)).toEqual({ range: DEFAULT_PORT_RANGE });
    expect(choosePortRange(undefined, undefined)).toEqual({ range: DEFAULT_PORT_RANGE });
    // Reserved for Gantry, as the refusal suggests.
    expect(choosePortRange(undefined, parseEphemeralPorts("1024 65535", "20000-32000"))).toEqual({
      range: DEFAULT_PORT_RANGE,
    });
  });

  it("is the largest range outside when the default overlaps the ephemeral ports, said why", () => {
    const low = choosePortRange(undefined, parseEphemeralPorts("10000 65535"));
    expect(low.range).toEqual({ first: 1024, last: 9999 });
    expect(low.note).toBe(
      "instance ports: 1024-9999, the largest range outside the kernel's ephemeral ports, " +
        "because the kernel's ephemeral ports 10000-65535 (net.ipv4.ip_local_port_range) " +
        "overlap the default 20000-32000 in 20000-32000 (--port-range chooses another)",
    );
    expect(choosePortRange(undefined, parseEphemeralPorts("1024 40000")).range).toEqual({
      first: 40001,
      last: 65535,
    });
    // Reserved ports belong to some known program: kept out, and they split the stretches.
    const reserved = choosePortRange(
      undefined,
      parseEphemeralPorts("15000 30000", "3000-3999, 60000"),
    );
    expect(reserved.range).toEqual({ first: 30001, last: 59999 });
    expect(reserved.note).toMatch(
      /^instance ports: 30001-59999, .* ephemeral and reserved ports, /,
    );
  });

  it("stays the default, saying how to avoid moves, without 1,000 ports in a row outside", () => {
    const wide = choosePortRange(undefined, parseEphemeralPorts("1024 65535"));
    expect(wide.range).toEqual(DEFAULT_PORT_RANGE);
    expect(wide.note).toBe(
      "instance ports: 20000-32000 although the kernel's ephemeral ports 1024-65535 " +
        "(net.ipv4.ip_local_port_range) overlap the default 20000-32000 in 20000-32000 and no " +
        "1000 ports in a row lie outside them: an instance whose port an outgoing connection " +
        "takes moves to another; to avoid that, reserve them: " +
        "sysctl -w net.ipv4.ip_local_reserved_ports=20000-32000",
    );
    expect(choosePortRange(undefined, parseEphemeralPorts("2000 65000")).range).toEqual(
      DEFAULT_PORT_RANGE,
    );
  });

  it("largestOutside: gaps between the ephemeral range and reserved ports, 1024-65535", () => {
    expect(largestOutside(linux)).toEqual({ first: 1024, last: 32767 });
    expect(largestOutside(parseEphemeralPorts("1024 64000")!)).toEqual({
      first: 64001,
      last: 65535,
    });
    expect(largestOutside(parseEphemeralPorts("1024 64999")!)).toBeUndefined(); // 536 ports
    expect(largestOutside(parseEphemeralPorts("30000 40000", "1024-29000,50000-65535")!)).toEqual({
      first: 40001,
      last: 49999,
    });
  });
});
