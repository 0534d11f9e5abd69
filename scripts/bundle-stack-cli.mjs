#!/usr/bin/env node
/**
 * Bundle the CLI of `gantry plan` / `gantry apply` (src/cli/stack-main.ts) into
 * dist/cli/stack-cli.mjs, which bin/gantry runs for them: one file to compile instead of a few
 * hundred modules to resolve and load, which was half of a 1,000-item no-op plan's CPU
 * (docs/stack.md, "Figures"). What only some stacks or only apply need (the converge loader,
 * tar) stays in chunks beside it, loaded when first imported. Part of `npm run build`.
 */
import { build } from "esbuild";
import { readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "cli");

// Chunks of an earlier build, whose names carry their content hash.
for (const f of readdirSync(outdir, { withFileTypes: true }))
  if (f.isFile() && f.name.startsWith("stack-cli.") && f.name.endsWith(".mjs"))
    rmSync(join(outdir, f.name));

await build({
  entryPoints: { "stack-cli": join(root, "src", "cli", "stack-main.ts") },
  outdir,
  // Beside the entry, so that paths the code resolves from its own file (../../package.json,
  // node_modules) are the same from every chunk as from dist/cli/*.js.
  chunkNames: "stack-cli.[name]-[hash]",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  // CommonJS dependencies (commander, nunjucks) call require() for node builtins: give the ESM
  // bundle one.
  banner: {
    js: 'import { createRequire as __gantryRequire } from "node:module"; const require = __gantryRequire(import.meta.url);',
  },
});
