#!/usr/bin/env node
/**
 * Bundle the CLI of `gantry plan` / `gantry apply` (src/cli/stack-main.ts) into one CommonJS
 * file, dist/cli/stack-cli.cjs, which bin/gantry runs for them through V8's code cache
 * (src/cli/compile-cache.ts): one file to compile, or none once cached, instead of a few hundred
 * modules to resolve, load and compile — which was half of a 1,000-item no-op plan's CPU
 * (docs/stack.md, "Figures"). Part of `npm run build`.
 */
import { build } from "esbuild";
import { readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeBundle, root } from "./bundle-options.mjs";

const outdir = join(root, "dist", "cli");
// In dist/cli beside the modules, so that paths the code resolves from its own file
// (../../package.json, node_modules) are the same as from dist/cli/*.js.
const outfile = join(outdir, "stack-cli.cjs");

// Code caches of earlier builds (and the outputs of earlier layouts of this bundle).
for (const f of readdirSync(outdir))
  if (f.startsWith("stack-cli.") && f !== "stack-cli.cjs") rmSync(join(outdir, f));

const { outputFiles } = await build({
  ...nodeBundle,
  entryPoints: [join(root, "src", "cli", "stack-main.ts")],
  outfile,
  write: false,
  // Packages only some stacks need (states and templates, roles' YAML, app sources' tars) stay
  // where npm put them, required when first used: the bundle every plan reads stays small.
  external: ["nunjucks", "tar", "yaml"],
  // CommonJS, because Node 20 can run a script, not an ES module, from a code cache.
  format: "cjs",
  // And no import() left in it: a script V8 runs from a code cache loses its dynamic-import
  // callback on Node 20 ("A dynamic import callback was not specified"), so the second
  // `gantry apply` of an app with `source:` failed. import() of a package left out becomes a
  // require (tar, yaml and nunjucks all have CommonJS entries).
  supported: { "dynamic-import": false },
  // The sources are ES modules: give them their own file's URL.
  define: { "import.meta.url": "__gantryModuleUrl" },
  banner: { js: 'const __gantryModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});

// Whole or not at all: a gantry plan may start while this runs (tests build beside each other).
const tmp = `${outfile}.${process.pid}.tmp`;
writeFileSync(tmp, outputFiles[0].contents);
renameSync(tmp, outfile);
