import { describe, expect, it } from "vitest";
import { parseChallenge } from "./registry-manifest.js";

describe("parseChallenge", () => {
  it("reads a registry's Bearer challenge", () => {
    expect(
      parseChallenge(
        'Bearer realm="http://127.0.0.1:7070/v1/registry/token",service="gantry-registry",scope="repository:hello:pull"',
      ),
    ).toEqual({
      scheme: "bearer",
      params: {
        realm: "http://127.0.0.1:7070/v1/registry/token",
        service: "gantry-registry",
        scope: "repository:hello:pull",
      },
    });
  });

  it("reads Basic, and an empty header", () => {
    expect(parseChallenge('Basic realm="Registry Realm"').scheme).toBe("basic");
    expect(parseChallenge("")).toEqual({ scheme: "", params: {} });
  });
});
