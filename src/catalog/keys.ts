import { K } from "../model/keys.js";

/** Store keys of the catalog, in one place (see model/keys.ts for the layout). */
export const catalogKey = (service: string, id: string): string => `${K.catalog}${service}/${id}`;
export const servicePrefix = (service: string): string => `${K.catalog}${service}/`;
export const healthKey = (service: string, id: string, check: string): string =>
  `${K.health}${service}/${id}/${check}`;
/** Every result of one instance (the trailing slash keeps `web/a` from matching `web/ab`). */
export const instanceHealthPrefix = (service: string, id: string): string =>
  `${K.health}${service}/${id}/`;
export const serviceHealthPrefix = (service: string): string => `${K.health}${service}/`;
export const nodeKey = (name: string): string => `${K.nodes}${name}`;
export const drainKey = (name: string): string => `${K.drains}${name}`;

/** `health/<service>/<id>/<check>` → its parts, or undefined for anything else. */
export function parseHealthKey(
  key: string,
): { service: string; id: string; check: string } | undefined {
  if (!key.startsWith(K.health)) return undefined;
  const parts = key.slice(K.health.length).split("/");
  if (parts.length !== 3 || parts.some((p) => p === "")) return undefined;
  return { service: parts[0]!, id: parts[1]!, check: parts[2]! };
}

/** The map key that ties a health record to its instance and check. */
export const resultId = (service: string, id: string, check: string): string =>
  `${service}/${id}/${check}`;
