import { describe, expect, it } from "vitest";
import {
  formatJoinToken,
  joinTokenRefusal,
  parseJoinToken,
  parseLabels,
  type JoinTokenRecord,
} from "./join-token.js";

const hash = "a".repeat(64);
const base: JoinTokenRecord = {
  id: "abc123",
  secretHash: "x",
  createdAt: "2026-01-01T00:00:00Z",
  createdBy: "admin",
  used: 0,
  labels: {},
};

describe("join token strings", () => {
  it("round-trip K10<hash>::<id>.<secret>", () => {
    const text = formatJoinToken({ caHash: hash, id: "abc123", secret: "s".repeat(32) });
    expect(text).toBe(`K10${hash}::abc123.${"s".repeat(32)}`);
    expect(parseJoinToken(text)).toEqual({ caHash: hash, id: "abc123", secret: "s".repeat(32) });
  });
  it("refuse what is not one", () => {
    expect(parseJoinToken("gty_abc")).toBeUndefined();
    expect(parseJoinToken(`K10${hash.slice(1)}::abc123.${"s".repeat(32)}`)).toBeUndefined();
    expect(parseJoinToken(`K10${hash}::abc123.short`)).toBeUndefined();
  });
});

describe("joinTokenRefusal", () => {
  const now = new Date("2026-02-01T00:00:00Z");
  it("allows a live token", () => {
    expect(joinTokenRefusal({ ...base, uses: 2, used: 1 }, now)).toBeUndefined();
  });
  it("says revoked, expired, used up", () => {
    expect(joinTokenRefusal({ ...base, revokedAt: "2026-01-02" }, now)).toMatch(/revoked/);
    expect(joinTokenRefusal({ ...base, expiresAt: "2026-01-31T00:00:00Z" }, now)).toMatch(
      /expired at 2026-01-31/,
    );
    expect(joinTokenRefusal({ ...base, uses: 1, used: 1 }, now)).toMatch(
      /used up \(1 of 1 uses\): make a new one \(gantry join-tokens create --uses …\)$/,
    );
  });
  it("refuses a node join token to a router and a router join token to an agent, saying which to make", () => {
    const router: JoinTokenRecord = { ...base, kind: "router" };
    expect(joinTokenRefusal(router, now, "router")).toBeUndefined();
    expect(joinTokenRefusal(base, now, "router")).toBe(
      "join token abc123 is for agents (gantry agent --join), not routers: make a router join token with gantry join-tokens create --router",
    );
    expect(joinTokenRefusal(router, now)).toMatch(
      /is for routers \(gantry router --join\), not agents: .*gantry join-tokens create$/,
    );
    expect(joinTokenRefusal({ ...router, revokedAt: "2026-01-02" }, now, "router")).toMatch(
      /revoked at 2026-01-02: ask for a new one \(gantry join-tokens create --router\)/,
    );
  });
});

describe("parseLabels", () => {
  it("reads k=v and names a bad one", () => {
    expect(parseLabels(["zone=a", "tier=web"])).toEqual({ zone: "a", tier: "web" });
    expect(parseLabels(["nope"])).toEqual({ error: 'a label must be KEY=VALUE, got "nope"' });
  });
});
