import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { parseAppSetPairs } from "./apps-set.js";

function refused(pairs: string[]): ValidationError {
  try {
    parseAppSetPairs(pairs);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error(`accepted ${pairs.join(" ")}`);
}

describe("apps:set key=value parsing", () => {
  it("reads every key into the API's settings body", () => {
    expect(
      parseAppSetPairs([
        "runtime=docker",
        "memory=512M",
        "pids=256",
        "read-only=true",
        "build-args=NPM_TOKEN,NODE_ENV",
        "health-path=/up",
        "deploy-timeout=60s",
        "drain=10s",
      ]),
    ).toEqual({
      runtime: "docker",
      container: { memoryMb: 512, pids: 256, readOnly: true },
      buildArgs: ["NPM_TOKEN", "NODE_ENV"],
      healthPath: "/up",
      deployTimeoutMs: 60_000,
      drainMs: 10_000,
    });
  });

  it("takes release-timeout (issue 15) as a duration, within 1 s to 6 h", () => {
    expect(parseAppSetPairs(["release-timeout=15m"])).toEqual({ releaseTimeoutMs: 900_000 });
    expect(refused(["release-timeout=10"]).message).toBe(
      "release-timeout must be a duration like 30s",
    );
    expect(refused(["release-timeout=7h"]).field).toBe("release-timeout");
  });

  it("takes sizes in M and G, and default to clear a limit", () => {
    expect(parseAppSetPairs(["memory=1G"])).toEqual({ container: { memoryMb: 1024 } });
    expect(parseAppSetPairs(["memory=1.5g"])).toEqual({ container: { memoryMb: 1536 } });
    expect(parseAppSetPairs(["memory=default", "pids=default", "read-only=default"])).toEqual({
      container: { memoryMb: null, pids: null, readOnly: null },
    });
    expect(parseAppSetPairs(["build-args="])).toEqual({ buildArgs: [] });
  });

  it("names the key in every refusal", () => {
    expect(refused(["runtime=vm"]).message).toBe("runtime must be process or docker");
    expect(refused(["memory=lots"]).field).toBe("memory");
    expect(refused(["memory=8M"]).message).toMatch(/^memory /);
    expect(refused(["pids=-1"]).field).toBe("pids");
    expect(refused(["pids=3"]).message).toMatch(/^pids /);
    expect(refused(["read-only=yes"]).message).toBe("read-only must be true or false");
    expect(refused(["drain=10"]).message).toBe("drain must be a duration like 30s");
    expect(refused(["deploy-timeout=1ms"]).field).toBe("deploy-timeout");
    expect(refused(["health-path=up"]).field).toBe("health-path");
    expect(refused(["build-args=not-a-name"]).field).toBe("build-args");
    expect(refused(["colour=blue"]).message).toMatch(
      /^"colour" is not a setting: use one of runtime, memory/,
    );
    expect(refused(["runtime"]).message).toBe("runtime needs a value: runtime=…");
    expect(refused(["pids=1", "pids=2"]).message).toBe("pids is given twice");
    expect(refused([]).message).toMatch(/^give a setting/);
  });
});

describe("apps:set https-redirect and hsts (issue 13)", () => {
  it("takes true/false and a max-age in seconds (true: one year; false and 0: off)", () => {
    expect(parseAppSetPairs(["https-redirect=true", "hsts=true"])).toEqual({
      httpsRedirect: true,
      hsts: 31_536_000,
    });
    expect(parseAppSetPairs(["httpsRedirect=false", "hsts=false"])).toEqual({
      httpsRedirect: false,
      hsts: 0,
    });
    expect(parseAppSetPairs(["hsts=600"])).toEqual({ hsts: 600 });
    expect(parseAppSetPairs(["hsts=0"])).toEqual({ hsts: 0 });
  });

  it("names the key in every refusal", () => {
    expect(refused(["https-redirect=yes"]).message).toBe("https-redirect must be true or false");
    expect(refused(["hsts=1y"]).message).toMatch(/^hsts must be true \(one year\), false, or/);
    expect(refused(["hsts=999999999"]).message).toMatch(/^hsts /);
    expect(refused(["hsts=999999999"]).field).toBe("hsts");
    expect(refused(["httpsRedirect=true", "https-redirect=false"]).message).toBe(
      "https-redirect is given twice",
    );
  });
});

describe("apps:set test and test-timeout (issue 15)", () => {
  it("takes a command (empty: none) and a duration (default: back to 10 min)", () => {
    expect(parseAppSetPairs(["test=npm test", "test-timeout=5m"])).toEqual({
      test: "npm test",
      testTimeoutMs: 300_000,
    });
    expect(parseAppSetPairs(["test=", "testTimeout=default"])).toEqual({
      test: "",
      testTimeoutMs: null,
    });
  });

  it("refuses a bad or out-of-range limit, naming the key", () => {
    expect(refused(["test-timeout=soon"]).message).toMatch(/^test-timeout must be a duration/);
    expect(refused(["test-timeout=10ms"]).field).toBe("test-timeout");
    expect(refused(["test-timeout=7h"]).message).toMatch(/^test-timeout /);
  });
});
