import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  checkPortRange,
  DEFAULT_PORT_RANGE,
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
    // Where the default overlaps too, it is not suggested.
    expect(() => checkPortRange(DEFAULT_PORT_RANGE, parseEphemeralPorts("1024 65535"))).toThrow(
      /outside 1024-65535, or reserve/,
    );
  });
});
