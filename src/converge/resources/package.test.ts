import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Inspection } from "../types.js";
import { createPackageType, packageType, plan, type PackageProps } from "./package.js";
import { buildDeb as buildDebIn, privateApt, type PrivateApt } from "./system/test-apt.js";
import { converge, recordingRunner } from "./system/test-run.js";
import { testContext } from "./test-context.js";

let dir: string;
const made: string[] = [];

const buildDeb = (name: string, version: string): string => buildDebIn(dir, name, version);

function packageName(): string {
  const name = `gantry-test-hello-${randomBytes(3).toString("hex")}`;
  made.push(name);
  return name;
}

/** What dpkg says is installed, or undefined. */
function installed(name: string): string | undefined {
  try {
    const out = execFileSync("dpkg-query", ["-W", "-f", "${Status} ${Version}", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.startsWith("install ok installed ") ? out.split(" ")[3] : undefined;
  } catch {
    return undefined;
  }
}

// A private apt repository (test-apt.ts): nothing in /etc/apt or /var/lib/apt changes.
let apt: PrivateApt;
/** In the private repository at versions 1.0 and 1.1. */
let repoPackage: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "gantry-debs-"));
  repoPackage = packageName();
  apt = privateApt(dir);
  apt.add(["1.0", "1.1"].map((v) => buildDeb(repoPackage, v)));
  apt.update();
});

/** The package type with apt pointed at the private repository; `calls` records every argv. */
function privateAptType(): { type: ReturnType<typeof createPackageType>; calls: string[][] } {
  const runner = recordingRunner();
  return { type: createPackageType(apt.runner(runner)), calls: runner.calls };
}

afterAll(() => {
  if (made.length > 0) execFileSync("dpkg", ["--purge", ...made], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
});

// apt-get takes seconds per run (more on a loaded machine): give these tests room.
describe("package (real dpkg and apt)", { timeout: 240_000 }, () => {
  it("installs from a .deb, upgrades, pins back down and removes; each once", async () => {
    const name = packageName();
    const [v10, v11] = [buildDeb(name, "1.0"), buildDeb(name, "1.1")];
    const check = testContext({ check: true });
    const { type: packageType } = privateAptType();

    expect(await converge(packageType, name, { deb: v10 }, check)).toEqual(["install 1.0"]);
    expect(installed(name)).toBeUndefined();
    const ctx = testContext();
    expect(await converge(packageType, name, { deb: v10 }, ctx)).toEqual(["install 1.0"]);
    expect(readFileSync(`/usr/share/${name}/version`, "utf8")).toBe("1.0\n");
    expect(ctx.logs.join("\n")).toContain(`Setting up ${name} (1.0)`);
    expect(await converge(packageType, name, { deb: v10 })).toEqual([]);

    expect(await converge(packageType, name, { deb: v11 }, check)).toEqual(["upgrade 1.0 → 1.1"]);
    expect(installed(name)).toBe("1.0");
    expect(await converge(packageType, name, { deb: v11 })).toEqual(["upgrade 1.0 → 1.1"]);
    expect(installed(name)).toBe("1.1");
    expect(await converge(packageType, name, { deb: v11 })).toEqual([]);

    const pinned = { deb: v10, version: "1.0" };
    expect(await converge(packageType, name, pinned)).toEqual(["downgrade 1.1 → 1.0"]);
    expect(installed(name)).toBe("1.0");
    expect(await converge(packageType, name, pinned)).toEqual([]);
    // Installed, any version: nothing to do.
    expect(await converge(packageType, name, {})).toEqual([]);

    expect(await converge(packageType, name, { state: "absent" }, check)).toEqual(["remove"]);
    expect(installed(name)).toBe("1.0");
    expect(await converge(packageType, name, { state: "absent" })).toEqual(["remove"]);
    expect(installed(name)).toBeUndefined();
    expect(existsSync(`/usr/share/${name}/version`)).toBe(false);
    expect(await converge(packageType, name, { state: "absent" })).toEqual([]);
  });

  it("works with Debian's own apt configuration", async () => {
    const name = packageName();
    const deb = buildDeb(name, "1.0");
    expect(await converge(packageType, name, { deb })).toEqual(["install 1.0"]);
    expect(installed(name)).toBe("1.0");
    expect(await converge(packageType, name, { deb })).toEqual([]);
    expect(await converge(packageType, name, { state: "absent" })).toEqual(["remove"]);
    expect(installed(name)).toBeUndefined();
  });

  it("checks a batch with one dpkg-query and installs it with one apt-get", async () => {
    const [a, b] = [packageName(), packageName()];
    const [debA, debB] = [buildDeb(a, "1.0"), buildDeb(b, "2.0")];
    const { type, calls } = privateAptType();
    const items = (props: Record<string, unknown>[]) =>
      [a, b].map((name, i) => ({ name, props: type.fields.parse(props[i]) }));
    const ctx = testContext();
    const batch = async (props: Record<string, unknown>[]): Promise<Inspection[]> =>
      type.inspectBatch!(items(props), ctx);

    const first = await batch([{ deb: debA }, { deb: debB }]);
    expect(first.map((i) => i.changes)).toEqual([["install 1.0"], ["install 2.0"]]);
    expect(calls.filter((c) => c[0] === "dpkg-query")).toEqual([
      [
        "dpkg-query",
        "-W",
        "-f",
        "${binary:Package}\\t${Package}\\t${Status}\\t${Version}\\n",
        "--",
        a,
        b,
      ],
    ]);
    for (const i of first) await i.apply();
    expect([installed(a), installed(b)]).toEqual(["1.0", "2.0"]);
    const aptCalls = calls.filter((c) => c[0] === "apt-get");
    expect(aptCalls).toHaveLength(1);
    expect(aptCalls[0]!.slice(0, 3)).toEqual(["apt-get", "install", "-y"]);
    expect(aptCalls[0]!.slice(-2)).toEqual([debA, debB]);

    calls.length = 0;
    const again = await batch([{ deb: debA }, { deb: debB }]);
    expect(again.map((i) => i.changes)).toEqual([[], []]);
    expect(calls.map((c) => c[0])).toEqual(["dpkg-deb", "dpkg-deb", "dpkg-query"]);

    calls.length = 0;
    const removal = await batch([{ state: "absent" }, { state: "absent" }]);
    expect(removal.map((i) => i.changes)).toEqual([["remove"], ["remove"]]);
    for (const i of removal) await i.apply();
    expect(calls.filter((c) => c[0] === "apt-get").map((c) => [c[1], ...c.slice(-2)])).toEqual([
      ["remove", a, b],
    ]);
    expect([installed(a), installed(b)]).toEqual([undefined, undefined]);
  });

  it("when a batch fails, each resource is retried alone so the failure lands on the right one", async () => {
    const good = packageName();
    const deb = buildDeb(good, "1.0");
    const { type } = privateAptType();
    const ctx = testContext();
    const inspections = await type.inspectBatch!(
      [
        { name: good, props: type.fields.parse({ deb }) },
        { name: "gantry-no-such-package", props: type.fields.parse({}) },
      ],
      ctx,
    );
    expect(inspections.map((i) => i.changes)).toEqual([["install 1.0"], ["install"]]);
    await inspections[0]!.apply();
    expect(installed(good)).toBe("1.0");
    await expect(inspections[1]!.apply()).rejects.toThrow(
      /apt-get install .* gantry-no-such-package failed \(exit 100\):[\s\S]*Unable to locate package gantry-no-such-package/,
    );
  });

  it("fails clearly for a missing or mismatched .deb, and says what it would do in check mode", async () => {
    const name = packageName();
    const deb = buildDeb(name, "1.0");
    await expect(converge(packageType, name, { deb: "/nonexistent/x.deb" })).rejects.toThrow(
      "deb /nonexistent/x.deb does not exist",
    );
    expect(
      await converge(
        packageType,
        name,
        { deb: "/nonexistent/x.deb" },
        testContext({ check: true }),
      ),
    ).toEqual(["install from /nonexistent/x.deb"]);
    await expect(converge(packageType, name, { deb, version: "2.0" })).rejects.toThrow(
      `deb ${deb} holds version 1.0, not 2.0`,
    );
    await expect(converge(packageType, "gantry-other", { deb })).rejects.toThrow(
      `deb ${deb} holds package ${name}, not gantry-other`,
    );
    expect(installed(name)).toBeUndefined();
  });

  it("validates names and fields before anything runs", () => {
    const props = packageType.fields.parse({});
    expect(packageType.validate?.("nginx*", props)).toMatchObject({ field: "package" });
    expect(packageType.validate?.("-nginx", props)).toMatchObject({ field: "package" });
    expect(packageType.validate?.("libc6:amd64", props)).toBeUndefined();
    expect(
      packageType.validate?.(
        "nginx",
        packageType.fields.parse({ state: "absent", version: "1.0" }),
      ),
    ).toEqual({
      field: "version",
      message: "only with state: installed",
    });
    expect(packageType.fields.safeParse({ deb: "relative.deb" }).success).toBe(false);
    expect(packageType.fields.safeParse({ version: "1.0 && rm" }).success).toBe(false);
    expect(
      packageType.validate?.(
        "nginx",
        packageType.fields.parse({ state: "latest", version: "1.0" }),
      ),
    ).toEqual({
      field: "version",
      message: "only with state: installed",
    });
    expect(packageType.fields.safeParse({ state: "newest" }).success).toBe(false);
  });
});

describe("package from an apt repository (NAME=VERSION)", { timeout: 240_000 }, () => {
  it("installs a pinned version with NAME=VERSION, upgrades and downgrades, each once", async () => {
    const { type: t, calls } = privateAptType();
    expect(
      await converge(t, repoPackage, { version: "1.0" }, testContext({ check: true })),
    ).toEqual(["install 1.0"]);
    expect(installed(repoPackage)).toBeUndefined();
    expect(await converge(t, repoPackage, { version: "1.0" })).toEqual(["install 1.0"]);
    expect(installed(repoPackage)).toBe("1.0");
    expect(calls.find((c) => c[0] === "apt-get")?.at(-1)).toBe(`${repoPackage}=1.0`);
    expect(await converge(t, repoPackage, { version: "1.0" })).toEqual([]);

    expect(await converge(t, repoPackage, { version: "1.1" })).toEqual(["upgrade 1.0 → 1.1"]);
    expect(installed(repoPackage)).toBe("1.1");
    expect(await converge(t, repoPackage, { version: "1.1" })).toEqual([]);
    expect(await converge(t, repoPackage, { version: "1.0" })).toEqual(["downgrade 1.1 → 1.0"]);
    expect(installed(repoPackage)).toBe("1.0");
  });

  it("installs the candidate when no version is asked for", async () => {
    const { type: t } = privateAptType();
    await converge(t, repoPackage, { state: "absent" });
    expect(await converge(t, repoPackage, {})).toEqual(["install"]);
    expect(installed(repoPackage)).toBe("1.1");
    expect(await converge(t, repoPackage, {})).toEqual([]);
  });

  it("state latest upgrades to apt's candidate with one apt-cache policy, then reports nothing", async () => {
    const { type: t, calls } = privateAptType();
    await converge(t, repoPackage, { version: "1.0" });
    expect(
      await converge(t, repoPackage, { state: "latest" }, testContext({ check: true })),
    ).toEqual(["upgrade 1.0 → 1.1"]);
    expect(installed(repoPackage)).toBe("1.0");
    expect(await converge(t, repoPackage, { state: "latest" })).toEqual(["upgrade 1.0 → 1.1"]);
    expect(installed(repoPackage)).toBe("1.1");
    expect(await converge(t, repoPackage, { state: "latest" })).toEqual([]);
    expect(calls.filter((c) => c[0] === "apt-cache")).toHaveLength(3);
    await expect(converge(t, "gantry-no-such-package", { state: "latest" })).rejects.toThrow(
      "apt has no installation candidate for gantry-no-such-package (apt-get update?)",
    );
  });
});

describe("package plan (pure)", () => {
  const p = (props: Partial<PackageProps>): PackageProps => ({ state: "installed", ...props });
  it("pins a repository version with NAME=VERSION, up or down", () => {
    expect(plan("nginx", p({ version: "1.2-1" }), undefined, undefined)).toEqual({
      changes: ["install 1.2-1"],
      op: { install: "nginx=1.2-1", downgrade: false },
    });
    expect(plan("nginx", p({ version: "1.2-1" }), "1.10-1", undefined)).toEqual({
      changes: ["downgrade 1.10-1 → 1.2-1"],
      op: { install: "nginx=1.2-1", downgrade: true },
    });
    expect(plan("nginx", p({ version: "1:1.0" }), "2.0", undefined).changes).toEqual([
      "upgrade 2.0 → 1:1.0",
    ]);
    expect(plan("nginx", p({ version: "1.2-1" }), "1.2-1", undefined)).toEqual({ changes: [] });
    expect(plan("nginx", p({}), "1.2-1", undefined)).toEqual({ changes: [] });
    expect(plan("nginx", p({ state: "absent" }), undefined, undefined)).toEqual({ changes: [] });
  });
});
