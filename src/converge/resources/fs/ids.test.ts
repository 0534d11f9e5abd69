import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { groupName, parseIdTable, resolveGroup, resolveUser, userName } from "./ids.js";

const id = (...args: string[]): number => Number(execFileSync("id", args, { encoding: "utf8" }));

describe("owner and group ids", () => {
  it("resolves real accounts like id(1) does", () => {
    expect(resolveUser("root")).toBe(0);
    expect(resolveUser("nobody")).toBe(id("-u", "nobody"));
    expect(resolveUser("daemon")).toBe(id("-u", "daemon"));
    expect(resolveGroup("daemon")).toBe(id("-g", "daemon"));
    expect(userName(id("-u", "daemon"))).toBe("daemon");
    expect(groupName(0)).toBe("root");
  });

  it("takes numeric ids as they are, even without an account", () => {
    expect(resolveUser("4242")).toBe(4242);
    expect(resolveUser(33)).toBe(33);
    expect(resolveGroup("4343")).toBe(4343);
    expect(userName(4242)).toBe("4242");
  });

  it("answers undefined for a name that does not exist", () => {
    expect(resolveUser("no-such-user-gantry")).toBeUndefined();
    expect(resolveGroup("no-such-group-gantry")).toBeUndefined();
  });

  it("sees an account added after the first lookup", () => {
    const dir = mkdtempSync(join(tmpdir(), "gantry-ids-"));
    const files = { passwd: join(dir, "passwd"), group: join(dir, "group") };
    writeFileSync(files.passwd, "root:x:0:0:root:/root:/bin/bash\n");
    writeFileSync(files.group, "root:x:0:\n");
    expect(resolveUser("app", files)).toBeUndefined();
    writeFileSync(files.passwd, "root:x:0:0:root:/root:/bin/bash\napp:x:1234:1234::/srv:/bin/sh\n");
    expect(resolveUser("app", files)).toBe(1234);
    expect(userName(1234, files)).toBe("app");
  });

  it("skips comments, blank and broken lines", () => {
    const t = parseIdTable("# c\n\nbroken\nx:y:zz\nok:x:7:7::/:/bin/sh\n");
    expect([...t.byName]).toEqual([["ok", 7]]);
  });
});
