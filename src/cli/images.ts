import type { Command } from "commander";
import { RegistryClient } from "../client/registry.js";
import { AppNameSchema } from "../model/app.js";
import type { ImageView } from "../model/image-view.js";
import { json, table, type Output } from "../output/output.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";

/** `gantry images [APP]`: the images in Gantry's registry, their sizes and the releases using them. */
export function registerImagesCommands(program: Command, o: Output): void {
  program
    .command("images [app]")
    .description("the images in Gantry's registry: tags, digest, size and the releases using each")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
Sizes are the sum of the image's layers as stored (compressed). Retention keeps the images of the
last releases of each app (gantry up --image-retention, default 5) and deletes only images
Gantry built (labelled gantry.app); images pushed from outside stay until apps:destroy.
Examples:
  $ gantry images
  $ gantry images web
  $ gantry images web --json | jq '.[] | select(.releases == []) | .digest'`,
    )
    .action(async (app: string | undefined, opts: { json?: boolean }) => {
      if (app !== undefined) parseWith(AppNameSchema, app, "app");
      const list = await new RegistryClient(clientFromEnv()).images(app);
      if (opts.json === true) return json(o, list);
      showImages(o, list);
    });
}

/** The images as a table, newest first within a repository. */
export function showImages(o: Output, list: ImageView[]): void {
  table(
    o,
    ["REPOSITORY", "TAGS", "DIGEST", "SIZE", "RELEASES"],
    list.map((img) => [
      img.repository,
      img.tags.join(",") || "-",
      img.digest.replace(/^sha256:/, "").slice(0, 12),
      humanSize(img.size),
      img.releases.map((v) => `v${v}`).join(",") || "-",
    ]),
    "(no images)",
  );
}

/** Bytes as people read them: 512 B, 3.4 MB (powers of 1000, as docker prints). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${n < 10 ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}
