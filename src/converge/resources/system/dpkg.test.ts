import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareVersions, installedVersion, parseDpkgQuery } from "./dpkg.js";

describe("parseDpkgQuery", () => {
  const out = [
    "bash\tbash\tinstall ok installed\t5.2.15-2+b8",
    "libc6:amd64\tlibc6\tinstall ok installed\t2.36-9",
    "nginx\tnginx\tdeinstall ok config-files\t1.22.1-9",
    "vim\tvim\thold ok installed\t2:9.0-1",
    "",
  ].join("\n");

  it("reads installed versions, and config-files leftovers as not installed", () => {
    const pkgs = parseDpkgQuery(out);
    expect(installedVersion(pkgs, "bash")).toBe("5.2.15-2+b8");
    expect(installedVersion(pkgs, "vim")).toBe("2:9.0-1");
    expect(installedVersion(pkgs, "nginx")).toBeUndefined();
    expect(installedVersion(pkgs, "curl")).toBeUndefined();
  });

  it("matches multi-arch names with and without the architecture", () => {
    const pkgs = parseDpkgQuery(out);
    expect(installedVersion(pkgs, "libc6")).toBe("2.36-9");
    expect(installedVersion(pkgs, "libc6:amd64")).toBe("2.36-9");
    expect(installedVersion(pkgs, "libc6:i386")).toBeUndefined();
  });
});

describe("compareVersions", () => {
  it("orders like dpkg on the tricky cases", () => {
    const sorted = ["1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0a", "1.0.1", "1.10", "1:0.1", "2:0"];
    for (let i = 0; i < sorted.length - 1; i++)
      expect(
        compareVersions(sorted[i]!, sorted[i + 1]!),
        `${sorted[i]} < ${sorted[i + 1]}`,
      ).toBeLessThan(0);
    expect(compareVersions("1.01", "1.1")).toBe(0);
    expect(compareVersions("0:1.0", "1.0")).toBe(0);
  });

  it("agrees with dpkg --compare-versions on random versions", () => {
    const part = fc.stringMatching(/^[0-9][0-9a-z.+~]{0,5}$/);
    const version = fc
      .tuple(
        fc.option(fc.integer({ min: 0, max: 2 })),
        part,
        fc.option(fc.stringMatching(/^[0-9a-z.+~]{1,4}$/)),
      )
      .map(([e, u, r]) => `${e === null ? "" : `${e}:`}${u}${r === null ? "" : `-${r}`}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        const dpkgLess = dpkgSays(a, "lt", b);
        const dpkgEqual = !dpkgLess && dpkgSays(a, "eq", b);
        const ours = compareVersions(a, b);
        expect(ours < 0, `${a} < ${b}`).toBe(dpkgLess);
        expect(ours === 0, `${a} = ${b}`).toBe(dpkgEqual);
      }),
      { numRuns: 80 },
    );
  });
});

function dpkgSays(a: string, op: string, b: string): boolean {
  try {
    execFileSync("dpkg", ["--compare-versions", a, op, b], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
