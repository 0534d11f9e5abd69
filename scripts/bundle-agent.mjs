#!/usr/bin/env node
/**
 * Bundle the one-file agent (src/cli/agent-main.ts: `gantry agent` and everything it imports)
 * into one ESM file that plain `node` ≥ 20 runs on a machine without Gantry:
 * dist/gantry-agent.mjs, or `--out FILE`. The `ssh` pool provider copies it to its hosts.
 * Part of `npm run build`.
 */
import { build } from "esbuild";
import { renameSync } from "node:fs";
import { join } from "node:path";
import { nodeBundle, root } from "./bundle-options.mjs";

const i = process.argv.indexOf("--out");
const outfile =
  i > 0 && process.argv[i + 1] ? process.argv[i + 1] : join(root, "dist", "gantry-agent.mjs");
// Whole or not at all: a test may copy it to a host while a build runs beside it.
const tmp = `${outfile}.${process.pid}.tmp`;

await build({
  ...nodeBundle,
  // The module exports main(); the bundle runs it.
  stdin: {
    contents: 'import { main } from "./src/cli/agent-main.ts"; await main(process.argv);',
    resolveDir: root,
    sourcefile: "gantry-agent.ts",
    loader: "ts",
  },
  outfile: tmp,
  format: "esm",
  // dockerode's ssh transport tries native addons (ssh2, cpu-features) and does without them.
  external: ["*.node"],
  // CommonJS dependencies call require() for node builtins and read __dirname (ssh2's wasm
  // loader, through dockerode): give the ESM bundle both.
  banner: {
    js: [
      'import { createRequire as __gantryRequire } from "node:module";',
      'import { dirname as __gantryDirname } from "node:path";',
      'import { fileURLToPath as __gantryPath } from "node:url";',
      "const require = __gantryRequire(import.meta.url);",
      "const __filename = __gantryPath(import.meta.url);",
      "const __dirname = __gantryDirname(__filename);",
    ].join(" "),
  },
});
renameSync(tmp, outfile);
