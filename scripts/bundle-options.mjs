/**
 * What the build's esbuild bundles share (scripts/bundle-runner.mjs, scripts/bundle-stack-cli.mjs):
 * the repository root, and one minified file for plain `node` ≥ 20.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const nodeBundle = {
  bundle: true,
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
};
