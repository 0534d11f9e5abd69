import { createHash } from "node:crypto";

/**
 * What a baked image is a function of: its name, the base image, the states dir's files, the
 * role and the vars. Two bakes with the same identity make the same image, so the second one reuses the first
 * (Packer rebuilds every time; "replace, don't patch" only needs a new image when one of these
 * changed).
 */
export interface BakeInputs {
  /**
   * The image's name (images/NAME): it is in the image's labels, so two names never share an
   * image, even from the same states.
   */
  name: string;
  /** The base image's id (`sha256:…`): its content, whatever tag named it. */
  baseId: string;
  /** States dir files: relative path → content (as readStatesDir gives them). */
  files: Record<string, string>;
  role: string;
  vars: Record<string, unknown>;
}

export interface BakeIdentity {
  /** sha256 hex of everything in BakeInputs. */
  key: string;
  /** The first 12 hex digits of the key: the image tag and the container name's suffix. */
  short: string;
  /** sha256 hex of the states dir's files alone. */
  statesHash: string;
}

/** Version of the hashed layout: bump it when what goes into the key changes. */
const LAYOUT = "gantry-bake/2";

/** The sha256 of a states dir: every file's path and content, in path order. */
export function statesHash(files: Record<string, string>): string {
  const h = createHash("sha256");
  for (const path of Object.keys(files).sort()) {
    // Lengths first: no two different dirs hash the same by moving bytes across a boundary.
    const content = Buffer.from(files[path]!, "utf8");
    h.update(`${Buffer.byteLength(path)}:${path}\n${content.length}:`).update(content);
  }
  return h.digest("hex");
}

/** JSON with object keys sorted at every depth: the same vars always give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value as object)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The identity of a bake: pure, so the same inputs always give the same key. */
export function bakeIdentity(inputs: BakeInputs): BakeIdentity {
  const states = statesHash(inputs.files);
  const key = createHash("sha256")
    .update(
      canonicalJson({
        layout: LAYOUT,
        name: inputs.name,
        base: inputs.baseId,
        states,
        role: inputs.role,
        vars: inputs.vars,
      }),
    )
    .digest("hex");
  return { key, short: key.slice(0, 12), statesHash: states };
}
