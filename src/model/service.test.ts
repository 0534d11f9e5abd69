import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { parseWith } from "../validate.js";
import { formatDuration, parseDuration } from "./duration.js";
import { ServiceRegistrationSchema, toInstance } from "./service.js";

const base = { service: "web", node: "n1", address: "127.0.0.1", port: 8080 };

/** The field a bad registration is refused for. */
function refusal(input: unknown): { field: string | undefined; message: string } {
  try {
    parseWith(ServiceRegistrationSchema, input);
  } catch (err) {
    if (err instanceof ValidationError) return { field: err.field, message: err.message };
    throw err;
  }
  throw new Error("the registration was accepted");
}

describe("durations", () => {
  it("parses units and compound durations", () => {
    expect(parseDuration("500ms")).toBe(500);
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("2h")).toBe(7_200_000);
  });

  it("refuses bare numbers, unknown units and trailing junk", () => {
    for (const bad of ["", "10", "10x", "s", "10s5", " 10s", "1.5s", "-1s"])
      expect(parseDuration(bad), bad).toBeUndefined();
  });

  it("formats compactly", () => {
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(1500)).toBe("1s500ms");
  });
});

describe("ServiceRegistration", () => {
  it("fills defaults: tags, meta, checks, check intervals", () => {
    const reg = parseWith(ServiceRegistrationSchema, {
      ...base,
      checks: [{ type: "http", path: "/up" }],
    });
    expect(reg.tags).toEqual([]);
    expect(reg.meta).toEqual({});
    expect(reg.checks[0]).toMatchObject({ type: "http", path: "/up", interval: "10s" });
  });

  it("accepts every check type", () => {
    const reg = parseWith(ServiceRegistrationSchema, {
      ...base,
      checks: [
        { type: "http", url: "https://example.com/health", interval: "500ms", timeout: "200ms" },
        { type: "tcp", address: "[::1]:5432", interval: "1m" },
        { type: "ttl", ttl: "30s", deregisterAfter: "5m" },
        { type: "exec", command: ["/bin/true"], interval: "10s", name: "always" },
      ],
    });
    expect(reg.checks.map((c) => c.type)).toEqual(["http", "tcp", "ttl", "exec"]);
  });

  it("names the unknown field, also inside a check", () => {
    expect(refusal({ ...base, colour: "red" })).toMatchObject({ field: "colour" });
    expect(refusal({ ...base, checks: [{ type: "ttl", ttl: "5s", intervl: "1s" }] })).toMatchObject(
      {
        field: "checks.0.intervl",
      },
    );
  });

  it("refuses an exec command given as a shell string, pointing at argv", () => {
    const r = refusal({
      ...base,
      checks: [{ type: "exec", command: "curl -f localhost | grep ok" }],
    });
    expect(r.field).toBe("checks.0.command");
    expect(r.message).toMatch(/argv/);
  });

  it("refuses bad names, ports, durations and check types with the field", () => {
    expect(refusal({ ...base, service: "Web_1" }).field).toBe("service");
    expect(refusal({ ...base, service: "-web" }).field).toBe("service");
    expect(refusal({ ...base, port: 70000 }).field).toBe("port");
    expect(refusal({ ...base, port: "80" }).field).toBe("port");
    expect(refusal({ ...base, id: "a/b" }).field).toBe("id");
    expect(refusal({ ...base, address: "http://x" }).field).toBe("address");
    expect(refusal({ ...base, node: undefined }).field).toBe("node");
    expect(refusal({ ...base, checks: [{ type: "http", path: "/", interval: "10" }] }).field).toBe(
      "checks.0.interval",
    );
    expect(
      refusal({ ...base, checks: [{ type: "http", path: "/", interval: "10ms" }] }).message,
    ).toMatch(/between 100ms/);
    expect(refusal({ ...base, checks: [{ type: "grpc" }] }).field).toBe("checks.0.type");
    expect(refusal({ ...base, checks: [{ type: "ttl", ttl: "500ms" }] }).field).toBe(
      "checks.0.ttl",
    );
  });

  it("wants exactly one of url or path on an http check", () => {
    expect(refusal({ ...base, checks: [{ type: "http" }] }).field).toBe("checks.0.url");
    expect(
      refusal({ ...base, checks: [{ type: "http", path: "/a", url: "http://x/a" }] }).field,
    ).toBe("checks.0.url");
    expect(refusal({ ...base, checks: [{ type: "http", url: "ftp://x/" }] }).field).toBe(
      "checks.0.url",
    );
  });

  it('takes expect "2xx" or "<500" on an http check, nothing else', () => {
    expect(refusal({ ...base, checks: [{ type: "http", path: "/", expect: "3xx" }] }).field).toBe(
      "checks.0.expect",
    );
    expect(refusal({ ...base, checks: [{ type: "tcp", expect: "<500" }] }).field).toBe(
      "checks.0.expect",
    );
  });

  it("refuses duplicate check ids", () => {
    const r = refusal({
      ...base,
      checks: [
        { type: "ttl", id: "a", ttl: "5s" },
        { type: "tcp", id: "a" },
      ],
    });
    expect(r).toMatchObject({ field: "checks.1.id" });
  });
});

describe("toInstance", () => {
  it("defaults the instance id to the service and check ids to their type, numbered", () => {
    const inst = toInstance(
      parseWith(ServiceRegistrationSchema, {
        ...base,
        checks: [
          { type: "tcp" },
          { type: "tcp", id: "tcp-2" },
          { type: "tcp" },
          { type: "ttl", ttl: "5s" },
        ],
      }),
    );
    expect(inst.id).toBe("web");
    expect(inst.checks.map((c) => c.id)).toEqual(["tcp", "tcp-2", "tcp-3", "ttl"]);
  });
});
