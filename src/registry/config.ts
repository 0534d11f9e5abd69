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
  return toYaml({
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

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Block YAML for this fixed shape: maps, lists of scalars, scalars; strings double-quoted (a
 * JSON string is a valid YAML one). Written here because the `yaml` library would cost the
 * server ~9 MB of memory for its whole life to write one small file.
 */
export function toYaml(value: { [key: string]: Yaml }, indent = ""): string {
  let out = "";
  for (const [key, v] of Object.entries(value)) {
    if (Array.isArray(v)) {
      out += `${indent}${key}:\n`;
      for (const item of v) out += `${indent}  - ${scalar(item)}\n`;
    } else if (typeof v === "object") {
      out += `${indent}${key}:\n${toYaml(v, indent + "  ")}`;
    } else out += `${indent}${key}: ${scalar(v)}\n`;
  }
  return out;
}

function scalar(v: Yaml): string {
  if (typeof v === "object") throw new Error("nested lists are not written");
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
