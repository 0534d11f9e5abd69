import { ValidationError } from "../errors.js";
import type { BakeIdentity } from "./identity.js";

/** Labels every baked image carries; the key label is how a bake finds the image to reuse. */
export const LABEL = {
  /**
   * `container` on a bake's containers (found and counted by it, never by name alone), `image`
   * on baked images: a commit copies the container's labels, so the image says it is not one.
   */
  bake: "gantry.bake",
  base: "gantry.bake.base",
  states: "gantry.bake.states",
  key: "gantry.bake.key",
  name: "gantry.bake.name",
  role: "gantry.bake.role",
} as const;

// A Docker repository path component, kept short so `images/NAME` stays readable.
const NAME_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Check a bake's NAME: it becomes the repository `images/NAME`. */
export function checkBakeName(name: string): string {
  if (name.length > 64 || !NAME_RE.test(name))
    throw new ValidationError(
      `NAME must be lowercase letters, digits and single . _ - between them (at most 64), got "${name}"`,
      "NAME",
    );
  return name;
}

/** The local repository of a bake's images: `images/NAME`. */
export function imageRepo(name: string): string {
  return `images/${name}`;
}

/** The container a bake runs in: named so a kept one is easy to find (`docker logs …`). */
export function containerName(name: string, id: BakeIdentity): string {
  return `gantry-bake-${name}-${id.short}`;
}

/** The labels of a baked image (its container has them too, with `gantry.bake=container`). */
export function bakeLabels(
  name: string,
  role: string,
  baseId: string,
  id: BakeIdentity,
): Record<string, string> {
  return {
    [LABEL.bake]: "image",
    [LABEL.base]: baseId,
    [LABEL.states]: id.statesHash,
    [LABEL.key]: id.key,
    [LABEL.name]: name,
    [LABEL.role]: role,
  };
}
