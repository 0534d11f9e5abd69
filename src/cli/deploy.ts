import type { Command } from "commander";
import { colours, json, type Output } from "../output/output.js";
import { appsClient, followRelease } from "./releases.js";

/** `gantry deploy APP --image REF` (issue 12): deploy an image built elsewhere, pinned by digest. */
export function registerDeployCommands(program: Command, o: Output): void {
  program
    .command("deploy <app>")
    .description("deploy an image built elsewhere (pinned by its digest)")
    .requiredOption("--image <ref>", "the image: in Gantry's registry, or present on the nodes")
    .option("--json", "print the outcome as JSON (after the deploy)")
    .addHelpText(
      "after",
      `
The reference is resolved to a digest before anything is released: an image that does not
exist, or a @sha256: digest that does not match, is refused. The release records the digest,
so a tag that moves later never changes it, and a rollback returns to the exact image. The
image's own CMD runs as web. The command waits for the deploy and exits non-zero, with the
reason, when it fails.

Examples:
  $ gantry deploy hello --image 127.0.0.1:5000/hello:ci-1234
  $ gantry deploy hello --image 127.0.0.1:5000/hello@sha256:4f1c…
  $ gantry deploy hello --image local/hello:dev --json`,
    )
    .action(async (app: string, opts: { image: string; json?: boolean }) => {
      const apps = appsClient();
      const made = await apps.deployImage(app, opts.image);
      const quiet: Output = { ...o, out: () => undefined };
      if (!opts.json) o.out(`${colours(o).dim(`resolved ${opts.image} -> ${made.image}`)}`);
      await followRelease(
        opts.json ? quiet : o,
        apps,
        app,
        { changed: true, version: made.release },
        `Deploying ${made.image} to ${app}`,
      );
      if (opts.json) json(o, { ok: true, ...made });
    });
}
