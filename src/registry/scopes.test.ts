import { describe, expect, it } from "vitest";
import { agentPolicies } from "../model/policies.js";
import type { Policy } from "../model/token.js";
import { grantScopes, parseScope, repositoryPolicy } from "./scopes.js";

const appWrite = (prefix: string): Policy => ({ resource: "app", prefix, access: "write" });
const appRead = (prefix: string): Policy => ({ resource: "app", prefix, access: "read" });

describe("registry scopes", () => {
  it("parses TYPE:NAME:ACTIONS, names with slashes included", () => {
    expect(parseScope("repository:images/base:pull,push")).toEqual({
      type: "repository",
      name: "images/base",
      actions: ["pull", "push"],
    });
    expect(parseScope("registry:catalog:*")).toEqual({
      type: "registry",
      name: "catalog",
      actions: ["*"],
    });
    expect(parseScope("nonsense")).toBeUndefined();
    expect(parseScope("repository::pull")).toBeUndefined();
  });

  it("maps app repositories to app policies and images/NAME to the stack's", () => {
    expect(repositoryPolicy("web")).toEqual({ resource: "app", name: "web" });
    expect(repositoryPolicy("images/node-base")).toEqual({
      resource: "stack",
      name: "images/node-base",
    });
    expect(repositoryPolicy("library/alpine")).toBeUndefined();
    expect(repositoryPolicy("Web")).toBeUndefined();
  });

  it("apps write pushes and pulls, apps read only pulls, other apps nothing", () => {
    const scope = ["repository:web:pull,push"];
    expect(grantScopes([appWrite("web")], scope)[0]!.actions).toEqual(["pull", "push"]);
    expect(grantScopes([appRead("web")], scope)[0]!.actions).toEqual(["pull"]);
    expect(grantScopes([appWrite("api")], scope)[0]!.actions).toEqual([]);
    // A prefix covers the apps it starts: app:we:write covers web.
    expect(grantScopes([appWrite("we")], scope)[0]!.actions).toEqual(["pull", "push"]);
  });

  it("a token without rights gets an entry with no actions, not a refusal", () => {
    const kv: Policy = { resource: "kv", prefix: "", access: "write" };
    expect(grantScopes([kv], ["repository:web:pull,push"])).toEqual([
      { type: "repository", name: "web", actions: [] },
    ]);
    expect(grantScopes([kv], [])).toEqual([]);
  });

  it("node tokens pull every repository; stack:images/ pushes node images", () => {
    const node = agentPolicies("n1");
    expect(grantScopes(node, ["repository:images/base:pull,push"])[0]!.actions).toEqual(["pull"]);
    expect(grantScopes(node, ["repository:other/x:pull"])[0]!.actions).toEqual(["pull"]);
    const baker: Policy = { resource: "stack", prefix: "images/", access: "write" };
    expect(grantScopes([baker], ["repository:images/base:push"])[0]!.actions).toEqual(["push"]);
    expect(grantScopes([baker], ["repository:web:pull"])[0]!.actions).toEqual([]);
  });

  it("delete and the catalog are an admin's only", () => {
    const admin: Policy = { admin: true };
    expect(grantScopes([admin], ["repository:x/y:pull,push,delete"])[0]!.actions).toEqual([
      "pull",
      "push",
      "delete",
    ]);
    expect(grantScopes([appWrite("")], ["repository:web:delete"])[0]!.actions).toEqual([]);
    expect(grantScopes([admin], ["registry:catalog:*"])[0]!.actions).toEqual(["*"]);
    expect(grantScopes([appWrite("")], ["registry:catalog:*"])[0]!.actions).toEqual([]);
  });

  it("several scopes in one parameter (space separated) each get their entry", () => {
    const got = grantScopes([appRead("")], ["repository:a:pull repository:b:push"]);
    expect(got).toEqual([
      { type: "repository", name: "a", actions: ["pull"] },
      { type: "repository", name: "b", actions: [] },
    ]);
  });
});
