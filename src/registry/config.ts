import { stringify } from "yaml";

export const REGISTRY_SERVICE = "gantry-registry";
export const REGISTRY_ISSUER = "gantry";

export interface RegistryConfigInput {
  /** host:port the registry listens on. */
  addr: string;
  /** Where blobs and manifests live (DATA_DIR/registry/data). */
  rootDirectory: string;
  /** The token realm: the Gantry API's /v1/registry/token URL. */
  realm: string;
  /** The token-signing certificate (rootcertbundle). */
  certPath: string;
  /** The secret the registry signs upload state with. */
  httpSecret: string;
  /** Serve reads only (for garbage collection). */
  readOnly?: boolean;
}

/** The registry's config.yml: filesystem storage, deletes on, token auth against Gantry. */
export function registryConfig(c: RegistryConfigInput): string {
  return stringify({
    version: 0.1,
    log: { level: "info", formatter: "text", accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: c.rootDirectory },
      delete: { enabled: true },
      maintenance: {
        uploadpurging: { enabled: true, age: "168h", interval: "24h", dryrun: false },
        readonly: { enabled: c.readOnly === true },
      },
    },
    http: {
      addr: c.addr,
      secret: c.httpSecret,
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
    auth: {
      token: {
        realm: c.realm,
        service: REGISTRY_SERVICE,
        issuer: REGISTRY_ISSUER,
        rootcertbundle: c.certPath,
      },
    },
  });
}
