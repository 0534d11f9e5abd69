import { describe, expect, it } from "vitest";
import { capabilities, rolePolicies, ROLES } from "./roles.js";
import { allows, formatPolicy, parsePolicy, RESOURCES } from "./token.js";

describe("roles", () => {
  it("admin is admin; operator writes every resource; viewer reads every resource", () => {
    expect(rolePolicies("admin", [])).toEqual([{ admin: true }]);
    const op = rolePolicies("operator", []);
    const viewer = rolePolicies("viewer", []);
    for (const r of RESOURCES) {
      expect(allows(op, r, "anything", "write")).toBe(true);
      expect(allows(viewer, r, "anything", "read")).toBe(r !== "cert");
      expect(allows(viewer, r, "anything", "write")).toBe(false);
    }
  });

  it("certificate keys (cert read) are for admin and operator, never a viewer or deployer", () => {
    expect(allows(rolePolicies("operator", []), "cert", "shop", "read")).toBe(true);
    expect(allows(rolePolicies("viewer", []), "cert", "shop", "read")).toBe(false);
    expect(allows(rolePolicies("deployer", ["shop"]), "cert", "shop", "read")).toBe(false);
    const viewerCaps = capabilities(rolePolicies("viewer", []));
    expect(viewerCaps.find((c) => c.resource === "cert" && c.access === "read")!.names).toEqual([]);
    expect(parsePolicy("cert::read")).toEqual({ resource: "cert", prefix: "", access: "read" });
  });

  it("a deployer deploys exactly its apps: not one whose name extends them, nor anything else", () => {
    const d = rolePolicies("deployer", ["hello", "api"]);
    expect(allows(d, "app", "hello", "deploy")).toBe(true);
    expect(allows(d, "app", "hello", "read")).toBe(true);
    expect(allows(d, "app", "api", "deploy")).toBe(true);
    // Deploy is not write: deleting the app, its domains, settings and certificates are not its.
    expect(allows(d, "app", "hello", "write")).toBe(false);
    expect(allows(d, "app", "hello-2", "deploy")).toBe(false);
    expect(allows(d, "app", "hello-2", "read")).toBe(false);
    expect(allows(d, "kv", "hello", "read")).toBe(false);
  });

  it("refuses an unknown role, a deployer without apps, apps for other roles, bad app names", () => {
    expect(() => rolePolicies("root", [], "--role")).toThrow(
      /unknown role "root".*admin, operator/,
    );
    expect(() => rolePolicies("deployer", [], "--role", "--app")).toThrow(/needs an app/);
    expect(() => rolePolicies("viewer", ["x"], "--role", "--app")).toThrow(/only the deployer/);
    expect(() => rolePolicies("deployer", ["Bad_Name"])).toThrow(/not an app name/);
    try {
      rolePolicies("deployer", []);
    } catch (err) {
      expect((err as { field?: string }).field).toBe("apps");
    }
  });

  it("every role is one of ROLES and expands to at least one policy", () => {
    for (const r of ROLES)
      expect(rolePolicies(r, r === "deployer" ? ["a"] : []).length).toBeGreaterThan(0);
  });

  it("exact policies round-trip through the CLI syntax", () => {
    const p = parsePolicy("app:=hello:write");
    expect(p).toEqual({ resource: "app", prefix: "hello", access: "write", exact: true });
    expect(formatPolicy(p)).toBe("app:=hello:write");
    expect(formatPolicy(parsePolicy("kv:app/:read"))).toBe("kv:app/:read");
  });
});

describe("capabilities", () => {
  const find = (caps: ReturnType<typeof capabilities>, resource: string, access: string) =>
    caps.find((c) => c.resource === resource && c.access === access)!.names;

  it("a viewer reads everything but config values and tokens", () => {
    const caps = capabilities(rolePolicies("viewer", []));
    expect(find(caps, "kv", "read")).toEqual(["*"]);
    expect(find(caps, "kv", "write")).toEqual([]);
    expect(find(caps, "config values", "read")).toEqual([]);
    expect(find(caps, "tokens", "read")).toEqual([]);
  });

  it("a deployer deploys and reads the config of its apps only", () => {
    const caps = capabilities(rolePolicies("deployer", ["hello"]));
    expect(find(caps, "app", "deploy")).toEqual(["hello"]);
    expect(find(caps, "app", "write")).toEqual([]);
    expect(find(caps, "config values", "read")).toEqual(["hello"]);
    expect(find(caps, "node", "read")).toEqual([]);
  });

  it("deploy is an app access only, and write includes it", () => {
    expect(parsePolicy("app:=hello:deploy")).toEqual({
      resource: "app",
      prefix: "hello",
      access: "deploy",
      exact: true,
    });
    expect(() => parsePolicy("kv:x/:deploy")).toThrow(/apps only/);
    expect(allows([parsePolicy("app::write")], "app", "x", "deploy")).toBe(true);
    expect(allows([parsePolicy("app::read")], "app", "x", "deploy")).toBe(false);
  });

  it("admin may do everything, prefixes show with a star", () => {
    expect(capabilities([{ admin: true }]).every((c) => c.names[0] === "*")).toBe(true);
    const caps = capabilities([parsePolicy("kv:app/:read")]);
    expect(find(caps, "kv", "read")).toEqual(["app/*"]);
  });
});
