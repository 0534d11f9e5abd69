import { describe, expect, it } from "vitest";
import { InventoryError, parseInventory } from "./inventory.js";

const byName = (text: string): Map<string, ReturnType<typeof parseInventory>["hosts"][number]> =>
  new Map(parseInventory(text, "inv.yaml").hosts.map((h) => [h.name, h]));

function errorOf(text: string): InventoryError {
  try {
    parseInventory(text, "inv.yaml");
  } catch (err) {
    if (err instanceof InventoryError) return err;
    throw err;
  }
  throw new Error("expected an InventoryError");
}

describe("parseInventory", () => {
  it("applies ssh defaults, and a host without fields connects to its name", () => {
    const hosts = byName(`
ssh: { user: admin, port: 2222, options: ["ConnectTimeout=5"] }
hosts:
  web1: { address: 127.0.0.2, port: 2201, user: root, become: true }
  db1:
`);
    expect(hosts.get("web1")).toMatchObject({
      address: "127.0.0.2",
      port: 2201,
      user: "root",
      become: true,
    });
    expect(hosts.get("db1")).toMatchObject({
      address: "db1",
      port: 2222,
      user: "admin",
      become: false,
      roles: [],
      vars: {},
    });
  });

  it("merges vars outer group < inner group < host, and unions roles and labels", () => {
    const hosts = byName(`
hosts:
  web1: { roles: [base], vars: { port: 9000 }, labels: { zone: a } }
  web2:
  db1: { roles: [db] }
groups:
  prod:
    children: [web, db]
    vars: { env: prod, tier: none, port: 80 }
    labels: { env: prod }
  web:
    hosts: [web1, web2]
    roles: [web]
    vars: { tier: web, port: 8080 }
  db:
    hosts: [db1]
    roles: [base]
    vars: { tier: db }
`);
    expect(hosts.get("web1")!.vars).toEqual({ env: "prod", tier: "web", port: 9000 });
    expect(hosts.get("web2")!.vars).toEqual({ env: "prod", tier: "web", port: 8080 });
    expect(hosts.get("db1")!.vars).toEqual({ env: "prod", tier: "db", port: 80 });
    expect(hosts.get("web1")!.roles.sort()).toEqual(["base", "web"]);
    expect(hosts.get("db1")!.roles.sort()).toEqual(["base", "db"]);
    expect(hosts.get("web1")!.labels).toEqual({ env: "prod", zone: "a" });
    expect(hosts.get("web1")!.groups).toEqual(["prod", "web"]);
  });

  it("orders groups by depth, not by the order they are written", () => {
    const hosts = byName(`
hosts:
  h: {}
groups:
  inner: { hosts: [h], vars: { x: inner } }
  middle: { children: [inner], vars: { x: middle, y: middle } }
  outer: { children: [middle], vars: { x: outer, y: outer, z: outer } }
`);
    expect(hosts.get("h")!.vars).toEqual({ x: "inner", y: "middle", z: "outer" });
  });

  it("names file, line and field for an unknown host in a group", () => {
    const err = errorOf(`hosts:
  web1: {}
groups:
  web:
    hosts:
      - web1
      - web9
`);
    expect(err.code).toBe("invalid_inventory");
    expect(err.message).toBe('inv.yaml:7: groups.web.hosts[1]: unknown host "web9"');
  });

  it("names the cycle in children", () => {
    const err = errorOf(`hosts: { h: {} }
groups:
  a:
    children: [b]
  b:
    children: [c]
  c:
    children: [a]
`);
    expect(err.message).toMatch(/^inv\.yaml:8: groups\.c\.children\[0\]: cycle: a → b → c → a$/);
  });

  it("refuses a bad port and an unknown field with their lines", () => {
    expect(errorOf("hosts:\n  web1:\n    port: 70000\n").message).toBe(
      "inv.yaml:3: hosts.web1.port: must be a port (1-65535)",
    );
    expect(errorOf("hosts:\n  web1:\n    adress: x\n").message).toBe(
      "inv.yaml:3: hosts.web1.adress: unknown field",
    );
    expect(errorOf("hosts:\n  a: {}\ngroups:\n  g: { children: [nope] }\n").message).toMatch(
      /^inv\.yaml:4: groups\.g\.children\[0\]: unknown group "nope"$/,
    );
  });

  it("refuses YAML that does not parse, and a missing hosts map", () => {
    expect(errorOf("hosts: [\n").message).toMatch(/^inv\.yaml:\d+: invalid YAML/);
    expect(errorOf("groups: {}\n").message).toMatch(/^inv\.yaml:1: hosts: /);
  });
});
