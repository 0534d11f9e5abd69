import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createGroupType, groupType } from "./group.js";
import { readAccounts } from "./system/accounts.js";
import { converge, recordingRunner } from "./system/test-run.js";
import { testContext } from "./test-context.js";

const made: string[] = [];
function groupName(): string {
  const name = `gantry-t-${randomBytes(4).toString("hex")}`;
  made.push(name);
  return name;
}

/** A gid nobody uses, from a range Debian leaves alone. */
async function freeGid(): Promise<number> {
  const used = new Set((await readAccounts()).groups.map((g) => g.gid));
  for (;;) {
    const gid = 50_000 + Math.floor(Math.random() * 9_000);
    if (!used.has(gid)) return gid;
  }
}

async function gidOf(name: string): Promise<number | undefined> {
  return (await readAccounts()).groups.find((g) => g.name === name)?.gid;
}

afterAll(() => {
  for (const name of made) {
    try {
      execFileSync("groupdel", [name], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
});

describe("group", () => {
  it("creates a group with a gid once, then reports nothing to do", async () => {
    const name = groupName();
    const gid = await freeGid();
    expect(await converge(groupType, name, { gid })).toEqual([`create gid ${gid}`]);
    expect(await gidOf(name)).toBe(gid);
    expect(await converge(groupType, name, { gid })).toEqual([]);
  });

  it("on drift, check mode reports exactly what apply then changes, and changes nothing", async () => {
    const name = groupName();
    const [gid, other] = [await freeGid(), await freeGid()];
    await converge(groupType, name, { gid });
    execFileSync("groupmod", ["-g", String(other), name]);

    const runner = recordingRunner();
    const type = createGroupType(runner);
    const checked = await converge(type, name, { gid }, testContext({ check: true }));
    expect(checked).toEqual([`gid ${other} → ${gid}`]);
    expect(await gidOf(name)).toBe(other);
    expect(runner.calls).toEqual([]);

    expect(await converge(type, name, { gid })).toEqual(checked);
    expect(await gidOf(name)).toBe(gid);
    expect(runner.calls).toEqual([["groupmod", "-g", String(gid), name]]);
    expect(await converge(type, name, { gid })).toEqual([]);
  });

  it("check mode on a missing group says create and creates nothing", async () => {
    const name = groupName();
    expect(await converge(groupType, name, { system: true }, testContext({ check: true }))).toEqual(
      ["create system"],
    );
    expect(await gidOf(name)).toBeUndefined();
    expect(await converge(groupType, name, { system: true })).toEqual(["create system"]);
    expect(await gidOf(name)).toBeLessThan(1000);
    expect(await converge(groupType, name, { system: true })).toEqual([]);
  });

  it("removes a group, then reports nothing to do", async () => {
    const name = groupName();
    await converge(groupType, name, {});
    expect(await gidOf(name)).toBeDefined();
    expect(
      await converge(groupType, name, { state: "absent" }, testContext({ check: true })),
    ).toEqual(["remove"]);
    expect(await gidOf(name)).toBeDefined();
    expect(await converge(groupType, name, { state: "absent" })).toEqual(["remove"]);
    expect(await gidOf(name)).toBeUndefined();
    expect(await converge(groupType, name, { state: "absent" })).toEqual([]);
  });

  it("fails with the command and groupadd's reason when the gid is taken", async () => {
    const name = groupName();
    await expect(converge(groupType, name, { gid: 0 })).rejects.toThrow(
      `groupadd -g 0 ${name} failed (exit 4): groupadd: GID '0' already exists`,
    );
  });

  it("validates names and fields before anything runs", () => {
    expect(groupType.validate?.("Bad Name", groupType.fields.parse({}))).toEqual({
      field: "group",
      message: '"Bad Name" is not a valid group name',
    });
    expect(
      groupType.validate?.("web", groupType.fields.parse({ state: "absent", gid: 5 })),
    ).toEqual({
      field: "gid",
      message: "only with state: present",
    });
    expect(groupType.fields.safeParse({ gid: -1 }).success).toBe(false);
    expect(groupType.fields.safeParse({ members: ["a"] }).success).toBe(false);
  });
});
