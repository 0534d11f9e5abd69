import { describe, expect, it } from "vitest";
import type { RouteSnapshot } from "./source.js";
import { normalizeHost, pickBackend, RouteTable } from "./table.js";

interface B {
  key: string;
  downUntil: number;
}

const snapshot: RouteSnapshot = {
  apps: [
    {
      name: "web",
      domains: ["www.example.com", "shared.example.com"],
      instances: [
        { address: "10.0.0.1", port: 1 },
        { address: "10.0.0.2", port: 2 },
      ],
    },
    { name: "api", domains: ["shared.example.com", "web.localhost"], instances: [] },
  ],
};

const table = () =>
  new RouteTable<B>(snapshot, "localhost", (i) => ({
    key: `${i.address}:${i.port}`,
    downUntil: 0,
  }));

describe("route table", () => {
  it("routes <app>.<domain> in any case and with any port", () => {
    const t = table();
    for (const host of ["web.localhost", "WEB.LocalHost:8080", "web.localhost.", " web.localhost "])
      expect(t.route(host)?.app, host).toBe("web");
    expect(t.route("api.localhost")?.app).toBe("api");
  });

  it("routes custom domains; the first app by name wins a shared one; <app>.<domain> beats a custom domain", () => {
    const t = table();
    expect(t.route("www.example.com:80")?.app).toBe("web");
    expect(t.route("shared.example.com")?.app).toBe("api");
    expect(t.route("web.localhost")?.app).toBe("web");
  });

  it("says why a host has no route", () => {
    const t = table();
    expect(t.route("nope.localhost")).toBeUndefined();
    expect(t.miss("Nope.localhost:8080")).toEqual({ kind: "no-app", app: "nope" });
    expect(t.miss("a.b.localhost")).toEqual({ kind: "no-host", host: "a.b.localhost" });
    expect(t.miss("example.org")).toEqual({ kind: "no-host", host: "example.org" });
    expect(t.miss("localhost")).toEqual({ kind: "no-host", host: "localhost" });
    // A cached miss stays a miss.
    expect(t.route("nope.localhost")).toBeUndefined();
  });

  it("works with another domain", () => {
    const t = new RouteTable<B>(snapshot, "Apps.Example.Net", (i) => ({
      key: i.address,
      downUntil: 0,
    }));
    expect(t.route("web.apps.example.net")?.app).toBe("web");
    expect(t.route("api.localhost")).toBeUndefined();
    // Here web.localhost is only api's custom domain.
    expect(t.route("web.localhost")?.app).toBe("api");
    expect(t.miss("x.apps.example.net")).toEqual({ kind: "no-app", app: "x" });
  });
});

describe("picking a backend", () => {
  it("goes round-robin", () => {
    const route = table().route("web.localhost")!;
    const picks = Array.from({ length: 6 }, () => pickBackend(route, null, 0)!.key);
    expect(picks).toEqual([
      "10.0.0.1:1",
      "10.0.0.2:2",
      "10.0.0.1:1",
      "10.0.0.2:2",
      "10.0.0.1:1",
      "10.0.0.2:2",
    ]);
  });

  it("skips those that failed for this request, and those down, unless all are down", () => {
    const route = table().route("web.localhost")!;
    const [a, b] = route.backends as B[];
    expect(pickBackend(route, new Set([a!]), 0)).toBe(b);
    expect(pickBackend(route, new Set([a!]), 0)).toBe(b);
    expect(pickBackend(route, new Set([a!, b!]), 0)).toBeUndefined();
    a!.downUntil = 1000;
    expect([0, 1, 2].map(() => pickBackend(route, null, 500))).toEqual([b, b, b]);
    b!.downUntil = 1000;
    expect(pickBackend(route, null, 500)).toBeDefined(); // all down: try one anyway
    expect([0, 1].map(() => pickBackend(route, null, 1000)!.key).sort()).toEqual([
      "10.0.0.1:1",
      "10.0.0.2:2",
    ]);
  });

  it("has nothing to pick without instances", () => {
    expect(pickBackend(table().route("api.localhost")!, null, 0)).toBeUndefined();
  });
});

describe("normalizeHost", () => {
  it("keeps IPv6 literals whole", () => {
    expect(normalizeHost("[::1]:8080")).toBe("[::1]");
    expect(normalizeHost("127.0.0.1:80")).toBe("127.0.0.1");
  });
});
