import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { registryConfig } from "./config.js";

describe("registry config", () => {
  it("is YAML with storage, deletes, read-only switch, address and token auth", () => {
    const input = {
      addr: "127.0.0.1:5000",
      rootDirectory: "/var/lib/gantry/registry/data",
      realm: "http://127.0.0.1:7700/v1/registry/token",
      certPath: '/d/with "quote"/token.crt',
      httpSecret: "s3cret",
    };
    const c = parse(registryConfig({ ...input, readOnly: true })) as Record<string, unknown>;
    expect(c["version"]).toBe(0.1);
    expect(c["storage"]).toMatchObject({
      filesystem: { rootdirectory: input.rootDirectory },
      delete: { enabled: true },
      maintenance: { readonly: { enabled: true } },
    });
    expect(c["http"]).toMatchObject({
      addr: "127.0.0.1:5000",
      secret: "s3cret",
      headers: { "X-Content-Type-Options": ["nosniff"] },
    });
    expect(c["auth"]).toEqual({
      token: {
        realm: input.realm,
        service: "gantry-registry",
        issuer: "gantry",
        rootcertbundle: input.certPath,
      },
    });
    const rw = parse(registryConfig(input)) as {
      storage: { maintenance: { readonly: { enabled: boolean } } };
    };
    expect(rw.storage.maintenance.readonly.enabled).toBe(false);
  });
});
