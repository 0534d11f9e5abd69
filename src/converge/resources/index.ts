import type { ResourceType } from "../types.js";

/**
 * Every resource type, by the key that names it in a state file (`file: /etc/motd`).
 * Each type lives in its own file in this folder and adds itself here.
 */
export const resourceTypes: ReadonlyMap<string, ResourceType<never>> = new Map<
  string,
  ResourceType<never>
>([]);
