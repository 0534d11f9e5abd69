import { createHash } from "node:crypto";

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The run-once scope of a resource: `<state>/<id>/<version>`, where the version is a short hash
 * of its resolved properties. Editing a run-once resource (a new migration command, say) gives it
 * a new scope, so it runs once more; an unchanged one stays done. Property values are not
 * recoverable from the hash (secrets included).
 */
export function onceScope(state: string, id: string, props: Record<string, unknown>): string {
  const version = createHash("sha256").update(canonical(props)).digest("hex").slice(0, 12);
  return `${state}/${id}/${version}`;
}
