import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Command } from "commander";
import { json, type Output } from "../output/output.js";
import { clientFromEnv } from "./config.js";

/** The program that opens a URL on this desktop, if there is one on PATH. */
export function opener(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
): string | undefined {
  const name = platform === "darwin" ? "open" : "xdg-open";
  for (const dir of (env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Whether to open the link without being asked: a desktop session (a display, or macOS) and a
 * person at the terminal; never with --json, in CI or over SSH without a display.
 */
export function onDesktop(
  env: NodeJS.ProcessEnv = process.env,
  platform = process.platform,
  tty = process.stdout.isTTY === true,
): boolean {
  if (!tty || env["CI"] !== undefined) return false;
  if (platform === "darwin") return env["SSH_CONNECTION"] === undefined;
  return (env["DISPLAY"] ?? "") !== "" || (env["WAYLAND_DISPLAY"] ?? "") !== "";
}

/** `gantry ui`: a one-time link that logs a browser in to the dashboard as this CLI's token. */
export function registerUiCommands(program: Command, o: Output): void {
  program
    .command("ui")
    .description("print a one-time link that logs a browser in to the dashboard as your token")
    .option("--open", "open it in this desktop's browser (the default on a desktop)")
    .option("--no-open", "only print it, even on a desktop")
    .option("--json", "print {url, expiresAt} as JSON")
    .addHelpText(
      "after",
      `
The link works once, within 5 minutes; the browser then holds a session (an HttpOnly cookie)
for 12 hours that acts as your token: it may do what the token may, the audit log shows the
token's name, and revoking or rotating the token ends it. Without a link, the login page at
<server>/ui/login takes a token. See docs/ui.md, "Logging in".
Examples:
  $ gantry ui
  $ gantry ui --no-open                      # print it only
  $ GANTRY_TOKEN=$VIEWER_TOKEN gantry ui     # a read-only dashboard
  $ gantry ui --json | jq -r .url`,
    )
    .action(async (opts: { open?: boolean; json?: boolean }) => {
      const link = await clientFromEnv().json<{ url: string; expiresAt: string }>(
        "POST",
        "/v1/ui/links",
        { body: {} },
      );
      if (opts.json === true) json(o, link);
      else o.out(`Open this link within 5 minutes (it works once):\n  ${link.url}`);
      const open = opts.open ?? (opts.json !== true && onDesktop());
      if (!open) return;
      const program = opener();
      if (program === undefined) {
        o.err("no xdg-open on this machine: open the link in a browser yourself");
        return;
      }
      const child = spawn(program, [link.url], { detached: true, stdio: "ignore" });
      child.on("error", (err) =>
        o.err(`could not open a browser (${err.message}): open the link yourself`),
      );
      child.unref();
    });
}
