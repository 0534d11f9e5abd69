import { describe, expect, it } from "vitest";
import { parseGroup, parsePasswd, readAccounts, supplementaryGroups } from "./accounts.js";

describe("account files", () => {
  it("parses /etc/passwd lines and skips junk and NIS lines", () => {
    const users = parsePasswd(
      "root:x:0:0:root:/root:/bin/bash\n+nis::::::\nbroken:x:zero:0::/:/bin/sh\napp:x:1001:1001:App User,,,:/srv/app:/usr/sbin/nologin\n",
    );
    expect(users).toEqual([
      { name: "root", uid: 0, gid: 0, comment: "root", home: "/root", shell: "/bin/bash" },
      {
        name: "app",
        uid: 1001,
        gid: 1001,
        comment: "App User,,,",
        home: "/srv/app",
        shell: "/usr/sbin/nologin",
      },
    ]);
  });

  it("parses /etc/group and finds a user's supplementary groups", () => {
    const groups = parseGroup("root:x:0:\nadm:x:4:syslog,app\nstaff:x:50:app\nweb:x:1001:\n");
    expect(groups[1]).toEqual({ name: "adm", gid: 4, members: ["syslog", "app"] });
    expect(supplementaryGroups({ users: [], groups }, "app")).toEqual(["adm", "staff"]);
    expect(supplementaryGroups({ users: [], groups }, "web")).toEqual([]);
  });

  it("reads the real account files", async () => {
    const accounts = await readAccounts();
    expect(accounts.users.find((u) => u.name === "root")?.uid).toBe(0);
    expect(accounts.groups.find((g) => g.name === "root")?.gid).toBe(0);
  });
});
