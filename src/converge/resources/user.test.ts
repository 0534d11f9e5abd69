import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupType } from "./group.js";
import { readAccounts, supplementaryGroups } from "./system/accounts.js";
import { converge, recordingRunner } from "./system/test-run.js";
import { testContext } from "./test-context.js";
import { createUserType, userType } from "./user.js";

const users: string[] = [];
const groups: string[] = [];
let homes: string;
const id = (): string => `gantry-t-${randomBytes(4).toString("hex")}`;
function userName(): string {
  const name = id();
  users.push(name);
  return name;
}
const [primary, g1, g2] = [id(), id(), id()];

beforeAll(async () => {
  homes = mkdtempSync(join(tmpdir(), "gantry-users-"));
  for (const g of [primary, g1, g2]) {
    groups.push(g);
    await converge(groupType, g, {});
  }
});

afterAll(() => {
  for (const name of users) quietly("userdel", name);
  for (const name of groups) quietly("groupdel", name);
  rmSync(homes, { recursive: true, force: true });
});

function quietly(...argv: string[]): void {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
  } catch {
    // already gone
  }
}

async function entry(name: string) {
  const accounts = await readAccounts();
  const u = accounts.users.find((x) => x.name === name);
  return u === undefined ? undefined : { ...u, groups: supplementaryGroups(accounts, name) };
}

async function freeUid(): Promise<number> {
  const used = new Set((await readAccounts()).users.map((u) => u.uid));
  for (;;) {
    const uid = 50_000 + Math.floor(Math.random() * 9_000);
    if (!used.has(uid)) return uid;
  }
}

describe("user", () => {
  it("creates a user with every attribute once, then reports nothing to do", async () => {
    const name = userName();
    const uid = await freeUid();
    const home = join(homes, name);
    const props = {
      uid,
      group: primary,
      groups: [g1],
      home,
      shell: "/bin/sh",
      comment: "Test User",
    };
    expect(await converge(userType, name, props)).toEqual([
      `create uid ${uid} group ${primary} groups ${g1} home ${home} shell /bin/sh comment Test User`,
    ]);
    const e = await entry(name);
    expect(e).toMatchObject({ uid, home, shell: "/bin/sh", comment: "Test User", groups: [g1] });
    expect(statSync(home).uid).toBe(uid);
    expect(await converge(userType, name, props)).toEqual([]);
  });

  it("on drift, check mode reports exactly what apply then changes, and changes nothing", async () => {
    const name = userName();
    const home = join(homes, name);
    const props = { group: primary, groups: [g1], home, shell: "/bin/sh" };
    await converge(userType, name, props);
    execFileSync("usermod", ["-s", "/bin/bash", "-G", g2, "-g", g1, name]);
    const drifted = await entry(name);

    const runner = recordingRunner();
    const type = createUserType(runner);
    const checked = await converge(type, name, props, testContext({ check: true }));
    expect(checked).toEqual([
      `group ${g1} → ${primary}`,
      "shell /bin/bash → /bin/sh",
      `groups +${g1} -${g2}`,
    ]);
    expect(await entry(name)).toEqual(drifted);
    expect(runner.calls).toEqual([]);

    expect(await converge(type, name, props)).toEqual(checked);
    expect(await entry(name)).toMatchObject({ shell: "/bin/sh", groups: [g1] });
    expect(runner.calls).toEqual([["usermod", "-g", primary, "-s", "/bin/sh", "-G", g1, name]]);
    expect(await converge(type, name, props)).toEqual([]);
  });

  it("groups is the exact set: an empty list leaves every supplementary group", async () => {
    const name = userName();
    await converge(userType, name, { groups: [g1, g2], createHome: false });
    expect((await entry(name))?.groups).toEqual([g1, g2].sort());
    expect(await converge(userType, name, { groups: [] })).toEqual([
      `groups -${[g1, g2].sort().join(" -")}`,
    ]);
    expect((await entry(name))?.groups).toEqual([]);
    expect(await converge(userType, name, { groups: [] })).toEqual([]);
  });

  it("creates a system user without a home when asked", async () => {
    const name = userName();
    const home = join(homes, name);
    expect(await converge(userType, name, { system: true, createHome: false, home })).toEqual([
      `create home ${home} system`,
    ]);
    expect((await entry(name))?.uid).toBeLessThan(1000);
    expect(existsSync(home)).toBe(false);
    expect(await converge(userType, name, { system: true, createHome: false, home })).toEqual([]);
  });

  it("removes a user, then reports nothing to do", async () => {
    const name = userName();
    await converge(userType, name, { createHome: false });
    expect(
      await converge(userType, name, { state: "absent" }, testContext({ check: true })),
    ).toEqual(["remove"]);
    expect(await entry(name)).toBeDefined();
    expect(await converge(userType, name, { state: "absent" })).toEqual(["remove"]);
    expect(await entry(name)).toBeUndefined();
    expect(await converge(userType, name, { state: "absent" })).toEqual([]);
  });

  it("fails with usermod's reason for a group that does not exist", async () => {
    const name = userName();
    await converge(userType, name, { createHome: false });
    await expect(converge(userType, name, { groups: ["gantry-no-such-group"] })).rejects.toThrow(
      `usermod -G gantry-no-such-group ${name} failed (exit 6): usermod: group 'gantry-no-such-group' does not exist`,
    );
  });

  it("validates names and fields before anything runs", () => {
    expect(userType.validate?.("root:x", userType.fields.parse({}))).toMatchObject({
      field: "user",
    });
    expect(
      userType.validate?.("app", userType.fields.parse({ state: "absent", shell: "/bin/sh" })),
    ).toEqual({
      field: "shell",
      message: "only with state: present",
    });
    expect(userType.fields.safeParse({ home: "relative/home" }).success).toBe(false);
    expect(userType.fields.safeParse({ comment: "a:b" }).success).toBe(false);
    expect(userType.fields.safeParse({ password: "x" }).success).toBe(false);
  });
});
