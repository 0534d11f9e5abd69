import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "web/dist/", "node_modules/", "coverage/", "test-artifacts/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        setImmediate: "readonly",
        URL: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  // Layers point down: cli → server → api → services (apps, controllers, converge, gitops, spec…)
  // → client/model → store. A lower folder never imports an upper one (docs/architecture.md).
  {
    files: ["src/**/*.ts"],
    ignores: ["src/api/**", "src/server/**", "src/cli/**"],
    rules: { "no-restricted-imports": ["error", { patterns: layers(["api", "server", "cli"]) }] },
  },
  {
    files: ["src/api/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: layers(["server", "cli"]) }] },
  },
  {
    files: ["src/server/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: layers(["cli"]) }] },
  },
);

/** Import patterns that reach into any of these top-level folders of src/ from below them. */
function layers(upper) {
  return upper.map((dir) => ({
    group: [`../${dir}/*`, `../../${dir}/*`, `../../../${dir}/*`, `../../../../${dir}/*`],
    message: `a lower layer does not import src/${dir}/: move what it needs down (docs/architecture.md)`,
  }));
}
