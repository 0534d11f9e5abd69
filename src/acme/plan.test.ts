import { describe, expect, it } from "vitest";
import {
  acmeDomains,
  planAcme,
  renewAt,
  retryDelayMs,
  type AcmeWorld,
  type PlanCert,
} from "./plan.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-06-01T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

/** A certificate valid `days` from `from` (ms). */
const cert = (
  domains: string[],
  from: number,
  days: number,
  source: PlanCert["source"] = "acme",
) => ({
  source,
  domains,
  notBefore: iso(from),
  notAfter: iso(from + days * DAY),
});

const world = (w: Partial<AcmeWorld>): AcmeWorld => ({
  apps: [],
  certs: new Map(),
  retries: new Map(),
  off: new Set(),
  ...w,
});

describe("which apps need a certificate by ACME", () => {
  it("takes custom domains without localhost names, sorted and unique", () => {
    expect(acmeDomains(["www.b.com", "a.com", "x.localhost", "localhost", "a.com"])).toEqual([
      "a.com",
      "www.b.com",
    ]);
    expect(acmeDomains(["hello.localhost"])).toEqual([]);
  });

  it("plans apps with custom domains and no certificate; skips manual ones, opted out and localhost-only", () => {
    const plan = planAcme(
      world({
        apps: [
          { name: "shop", domains: ["shop.example.com"] },
          { name: "plain", domains: [] },
          { name: "local", domains: ["local.localhost"] },
          { name: "manual", domains: ["m.example.com"] },
          { name: "off", domains: ["off.example.com"] },
        ],
        certs: new Map([["manual", cert(["m.example.com"], NOW - DAY, 1, "manual")]]),
        off: new Set(["off"]),
      }),
      30 * DAY,
      NOW,
    );
    expect(plan.work).toEqual([{ app: "shop", domains: ["shop.example.com"], why: "new" }]);
    expect(plan.wakeAt).toBeUndefined();
    expect(plan.stale).toEqual([]);
  });

  it("re-issues when the app's domains changed", () => {
    const plan = planAcme(
      world({
        apps: [{ name: "shop", domains: ["b.example.com", "a.example.com"] }],
        certs: new Map([["shop", cert(["a.example.com"], NOW - DAY, 90)]]),
      }),
      30 * DAY,
      NOW,
    );
    expect(plan.work).toEqual([
      { app: "shop", domains: ["a.example.com", "b.example.com"], why: "domains changed" },
    ]);
  });
});

describe("renewal timing", () => {
  it("renews renew-before ahead of expiry, and wakes then", () => {
    const c = cert(["a.example.com"], NOW - 10 * DAY, 90);
    expect(renewAt(c, 30 * DAY)).toBe(NOW + 50 * DAY);
    const w = world({
      apps: [{ name: "a", domains: ["a.example.com"] }],
      certs: new Map([["a", c]]),
    });
    expect(planAcme(w, 30 * DAY, NOW)).toEqual({ work: [], stale: [], wakeAt: NOW + 50 * DAY });
    expect(planAcme(w, 30 * DAY, NOW + 50 * DAY).work).toEqual([
      { app: "a", domains: ["a.example.com"], why: "renewal" },
    ]);
  });

  it("never renews in the first tenth of a certificate's life, whatever renew-before says", () => {
    const c = cert(["a.example.com"], NOW, 10);
    expect(renewAt(c, 365 * DAY)).toBe(NOW + DAY);
  });

  it("waits for the retry time after a failure, then tries again", () => {
    const w = world({
      apps: [{ name: "a", domains: ["a.example.com"] }],
      retries: new Map([["a", { nextAttempt: iso(NOW + 5000) }]]),
    });
    expect(planAcme(w, 30 * DAY, NOW)).toEqual({ work: [], stale: [], wakeAt: NOW + 5000 });
    expect(planAcme(w, 30 * DAY, NOW + 5000).work).toHaveLength(1);
  });

  it("drops the failure state of apps gone, opted out or given a certificate by hand", () => {
    const retry = { nextAttempt: iso(NOW + 5000) };
    const w = world({
      apps: [
        { name: "off", domains: ["off.example.com"] },
        { name: "manual", domains: ["m.example.com"] },
        { name: "kept", domains: ["k.example.com"] },
      ],
      certs: new Map([["manual", cert(["m.example.com"], NOW, 90, "manual")]]),
      retries: new Map(["gone", "off", "manual", "kept"].map((a) => [a, retry])),
      off: new Set(["off"]),
    });
    expect(planAcme(w, 30 * DAY, NOW).stale).toEqual(["gone", "off", "manual"]);
  });

  it("backs off 5 s doubling, at most an hour", () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([5000, 10_000, 20_000, 40_000]);
    expect(retryDelayMs(30)).toBe(3_600_000);
  });
});
