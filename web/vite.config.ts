import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));

// The dashboard is served by the API server at /ui (src/api/ui-static.ts), from web/dist.
export default defineConfig({
  root,
  base: "/ui/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The budget is 250 KB of JavaScript gzipped in all (bench:ui prints it).
    chunkSizeWarningLimit: 600,
  },
  // The dev server (`npx vite web`) sends API calls to a local `gantry up`.
  server: {
    proxy: {
      "/v1": process.env["GANTRY_ADDR"] ?? "http://127.0.0.1:7700",
    },
    fs: { allow: [fileURLToPath(new URL("..", import.meta.url))] },
  },
});
