#!/usr/bin/env node
/**
 * Bundle the converge runner (src/converge/runner-main.ts and everything it imports) into one
 * ESM file that plain `node` ≥ 20 runs on an SSH host: dist/converge-runner.mjs, or `--out FILE`.
 * Part of `npm run build`.
 */
import { build } from "esbuild";
import { join } from "node:path";
import { nodeBundle, root } from "./bundle-options.mjs";

const i = process.argv.indexOf("--out");
const outfile =
  i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, "dist", "converge-runner.mjs");

await build({
  ...nodeBundle,
  entryPoints: [join(root, "src", "converge", "runner-main.ts")],
  outfile,
  format: "esm",
  // CommonJS dependencies (nunjucks) call require() for node builtins: give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __gantryRequire } from "node:module"; const require = __gantryRequire(import.meta.url);',
  },
});
