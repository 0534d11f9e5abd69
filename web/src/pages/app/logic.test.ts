import { describe, expect, it } from "vitest";
import {
  appLogLine,
  certState,
  changedCounts,
  covers,
  duration,
  fileLine,
  processTypes,
  releaseKind,
} from "./logic";
import { progressOf, summary } from "./progress";
import { appState, type AppInfo, type CertView, type PsEntry, type ReleaseView } from "./types";

const ps = (o: Partial<PsEntry>): PsEntry => ({
  id: "i",
  name: "web.1",
  processType: "web",
  index: 1,
  release: 2,
  node: "vm",
  kind: "run",
  desired: "running",
  command: "node server.js",
  lastOutput: [],
  state: "running",
  restarts: 0,
  ...o,
});

const info = (o: Partial<AppInfo> = {}): AppInfo => ({
  name: "hello",
  createdAt: "",
  createdBy: "",
  domains: [],
  formation: { web: 1 },
  currentRelease: 2,
  gitUrl: "",
  url: "http://hello.localhost/",
  ...o,
});

describe("deploy progress", () => {
  it("counts new and old instances and the healthy ones, and says the step", () => {
    const p = progressOf(
      {
        app: "hello",
        release: 3,
        previous: 2,
        status: "running",
        log: ["released v3", "starting web.2"],
      },
      [
        ps({ release: 3, health: "passing" }),
        ps({ release: 3, state: "starting" }),
        ps({ release: 2, health: "critical" }),
        ps({ release: 2, health: "passing" }),
        ps({ release: 3, kind: "oneoff", processType: "run" }),
      ],
    );
    expect(p).toEqual({
      step: "starting web.2",
      newTotal: 2,
      newHealthy: 1,
      oldTotal: 2,
      oldHealthy: 1,
    });
  });
  it("says what a running deploy waits for", () => {
    const p = progressOf(
      {
        app: "hello",
        release: 3,
        previous: 2,
        status: "running",
        log: [],
        waiting: { key: "web.1=check:503", firstAt: "", lastAt: "" },
      },
      [],
    );
    expect(p.step).toBe("waiting for web.1=check:503");
  });
  it("summarizes serving instances per process type, one-offs aside", () => {
    expect(
      summary([
        ps({ processType: "worker" }),
        ps({ state: "crashed" }),
        ps({}),
        ps({ kind: "oneoff", processType: "run" }),
        ps({ desired: "draining", release: 1 }),
      ]),
    ).toEqual([
      { type: "web", up: 1, all: 2 },
      { type: "worker", up: 1, all: 1 },
    ]);
  });
});

describe("app state", () => {
  it("is deploying, failed, new, stopped or running", () => {
    const d = { app: "hello", release: 2, previous: 1, startedAt: "" };
    expect(appState(info({ deploy: { ...d, status: "running" } }))).toBe("deploying");
    expect(appState(info({ deploy: { ...d, status: "failed" } }))).toBe("failed");
    expect(appState(info({ currentRelease: 0 }))).toBe("new");
    expect(appState(info({ formation: { web: 0 } }))).toBe("stopped");
    expect(appState(info())).toBe("running");
  });
});

describe("scale", () => {
  it("offers the release's process types and the formation's", () => {
    const release = { processTypes: { web: "x", worker: "y" } } as unknown as ReleaseView;
    expect(processTypes(info({ release, formation: { web: 1, clock: 0 } }))).toEqual([
      "clock",
      "web",
      "worker",
    ]);
  });
  it("sends only the changed counts, and refuses what is not a count", () => {
    expect(changedCounts({ web: 1 }, { web: "3", worker: "0" })).toEqual({ web: 3 });
    expect(changedCounts({ web: 1 }, { web: "1" })).toEqual({});
    expect(changedCounts({ web: 1 }, { web: "1.5" })).toMatch(/web must be a whole number/);
    expect(changedCounts({ web: 1 }, { web: "" })).toMatch(/web/);
    expect(changedCounts({ web: 1 }, { web: "101" })).toMatch(/0 to 100/);
  });
});

describe("releases", () => {
  const r = (description: string, build?: string) =>
    ({ description, ...(build === undefined ? {} : { build }) }) as ReleaseView;
  it("tells a release's kind from its record", () => {
    expect(releaseKind(r("Rollback to v1", "b"))).toBe("rollback");
    expect(releaseKind(r("Set GREETING; Unset X", "b"))).toBe("config");
    expect(releaseKind(r("Deploy 4fe7301b3ae3", "b"))).toBe("build");
    expect(releaseKind(r("Set A"))).toBe("config");
  });
});

describe("certificates", () => {
  const cert: CertView = {
    app: "hello",
    source: "acme",
    domains: ["*.example.com", "example.com"],
    issuer: "Test CA",
    notBefore: "2026-01-01T00:00:00Z",
    notAfter: "2027-01-01T00:00:00Z",
  };
  const now = Date.parse("2026-06-01T00:00:00Z");
  it("matches names and one-level wildcards", () => {
    expect(covers("*.example.com", "www.example.com")).toBe(true);
    expect(covers("*.example.com", "a.b.example.com")).toBe(false);
    expect(covers("*.example.com", "example.com")).toBe(false);
    expect(covers("example.com", "example.com")).toBe(true);
  });
  it("says valid, none, pending, expired or warning", () => {
    expect(certState("www.example.com", cert, now).state).toBe("valid");
    expect(certState("other.org", cert, now).state).toBe("none");
    expect(certState("example.com", undefined, now).state).toBe("none");
    expect(certState("example.com", { ...cert, pending: true }, now).state).toBe("pending");
    expect(certState("example.com", cert, Date.parse("2028-01-01T00:00:00Z")).state).toBe(
      "expired",
    );
    expect(certState("example.com", { ...cert, lastError: "rate limited" }, now)).toEqual({
      state: "warning",
      note: "rate limited",
    });
  });
});

describe("builds", () => {
  it("says how long a build took", () => {
    const b = { id: "x", status: "succeeded", commit: "c", createdBy: "a" } as const;
    expect(
      duration({ ...b, startedAt: "2026-01-01T00:00:00Z", finishedAt: "2026-01-01T00:00:42Z" }),
    ).toBe("42s");
    expect(
      duration({ ...b, startedAt: "2026-01-01T00:00:00Z" }, Date.parse("2026-01-01T00:03:05Z")),
    ).toBe("3m 05s");
  });
  it("strips time stamps (and the app log's source) from log lines", () => {
    expect(fileLine("2026-01-01T00:00:00.000Z -----> Node app detected")).toBe(
      "-----> Node app detected",
    );
    expect(appLogLine("2026-01-01T00:00:00.000Z build -----> Compressed: 1.0 KB")).toBe(
      "-----> Compressed: 1.0 KB",
    );
  });
});
