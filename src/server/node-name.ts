import { hostname } from "node:os";

/** The default node name: the host name, cut to a valid node name. */
export function defaultNodeName(): string {
  const name = hostname()
    .split(".")[0]!
    .replace(/[^A-Za-z0-9_.-]/g, "-")
    .slice(0, 63);
  return /^[A-Za-z0-9]/.test(name) ? name : `node-${name}`.slice(0, 63);
}
