import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { templateType } from "./template.js";
import { converge, snapshotTree, testContext } from "./test-context.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "gantry-template-"));
const files = {
  "templates/site.conf.j2":
    "server {{ facts.hostname }}:{{ port }}\n{% for h in hosts %}\nupstream {{ h }}\n{% endfor %}\n",
};

describe("template", () => {
  it("renders with vars and facts and writes the file; a second run changes nothing", async () => {
    const path = join(tmp(), "site.conf");
    const ctx = testContext({ files, vars: { port: 8080, hosts: ["a", "b"] } });
    const props = { source: "templates/site.conf.j2", mode: "0640" };
    expect((await converge(templateType, path, props, ctx)).changes).toEqual(["create"]);
    expect(readFileSync(path, "utf8")).toBe("server test-host:8080\nupstream a\nupstream b\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect((await converge(templateType, path, props, ctx)).changes).toEqual([]);
  });

  it("reports a var change as a content diff, changing nothing in check mode", async () => {
    const root = tmp();
    const path = join(root, "site.conf");
    const props = { source: "templates/site.conf.j2" };
    await converge(
      templateType,
      path,
      props,
      testContext({ files, vars: { port: 80, hosts: [] } }),
    );
    chmodSync(path, 0o600);
    const before = snapshotTree(root);
    const drifted = testContext({ files, vars: { port: 81, hosts: [] }, check: true });
    const seen = await converge(templateType, path, { ...props, mode: "0644" }, drifted);
    expect(snapshotTree(root)).toEqual(before);
    expect(seen.changes).toEqual(["content", "mode 0600 → 0644"]);
    expect(seen.diff).toBe(
      `--- ${path}\n+++ ${path}\n@@ -1 +1 @@\n-server test-host:80\n+server test-host:81\n`,
    );
    const applied = testContext({ files, vars: { port: 81, hosts: [] } });
    expect(
      (await converge(templateType, path, { ...props, mode: "0644" }, applied)).changes,
    ).toEqual(seen.changes);
    expect(
      (await converge(templateType, path, { ...props, mode: "0644" }, applied)).changes,
    ).toEqual([]);
  });

  it("fails on a template missing from the states dir and on a directory in the way", async () => {
    const root = tmp();
    await expect(converge(templateType, join(root, "x"), { source: "nope.j2" })).rejects.toThrow(
      /nope\.j2/,
    );
    writeFileSync(join(root, "x"), "");
    await expect(
      converge(
        templateType,
        root,
        { source: "templates/site.conf.j2" },
        testContext({ files, vars: { hosts: [] } }),
      ),
    ).rejects.toThrow(/it is a directory, not a file/);
  });

  it("validates: source required, strict fields, an absolute path", () => {
    expect(templateType.fields.safeParse({}).success).toBe(false);
    expect(templateType.fields.safeParse({ source: "a", content: "b" }).success).toBe(false);
    expect(templateType.validate?.("site.conf", { source: "a" })?.message).toMatch(/absolute/);
  });
});
