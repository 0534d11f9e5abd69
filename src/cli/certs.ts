import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import type { CertView } from "../certs/service.js";
import { json, table, type Output } from "../output/output.js";
import { clientFromEnv } from "./config.js";

const seg = encodeURIComponent;

function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    throw new ValidationError(`${flag} ${path}: cannot read it (${code})`, flag);
  }
}

/** `gantry certs [APP]`, `certs:add APP --cert F --key F`, `certs:remove APP`. */
export function registerCertCommands(program: Command, o: Output): void {
  program
    .command("certs [app]")
    .description("list the apps' HTTPS certificates: domains, issuer, expiry, source, last error")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry certs
  $ gantry certs hello --json`,
    )
    .action(async (app: string | undefined, opts: { json?: boolean }) => {
      const q = app === undefined ? "" : `?app=${seg(app)}`;
      const { certs } = await clientFromEnv().json<{ certs: CertView[] }>("GET", `/v1/certs${q}`);
      if (opts.json === true) return json(o, certs);
      if (certs.length === 0)
        return o.out("no certificates (add one with: gantry certs:add APP --cert F --key F)");
      table(
        o,
        ["APP", "DOMAINS", "ISSUER", "EXPIRES", "SOURCE", "LAST ERROR"],
        certs.map((c) => [
          c.app,
          c.domains.join(","),
          c.issuer,
          c.pending === true ? "(pending)" : c.notAfter,
          c.source,
          c.lastError ?? "",
        ]),
      );
    });

  program
    .command("certs:add <app>")
    .description("give an app an HTTPS certificate (checked, stored with its key encrypted)")
    .requiredOption("--cert <file>", "the certificate (PEM; the chain may follow it)")
    .requiredOption("--key <file>", "its private key (PEM)")
    .addHelpText(
      "after",
      `
The key must be the certificate's, the certificate valid now and covering the app's custom
domains (or <app>.<domain> when it has none). Examples:
  $ gantry certs:add hello --cert www.example.com.crt --key www.example.com.key`,
    )
    .action(async (app: string, opts: { cert: string; key: string }) => {
      const body = {
        certPem: readPem(opts.cert, "--cert"),
        keyPem: readPem(opts.key, "--key"),
        certFile: opts.cert,
        keyFile: opts.key,
      };
      const c = await clientFromEnv().json<CertView>("POST", `/v1/apps/${seg(app)}/certs`, {
        body,
      });
      o.out(
        `${app}: certificate for ${c.domains.join(", ")} from ${c.issuer}, expires ${c.notAfter}`,
      );
    });

  program
    .command("certs:remove <app>")
    .description("remove an app's HTTPS certificate")
    .addHelpText("after", `\nExamples:\n  $ gantry certs:remove hello`)
    .action(async (app: string) => {
      await clientFromEnv().json("DELETE", `/v1/apps/${seg(app)}/certs`);
      o.out(`${app}: certificate removed`);
    });

  program
    .command("certs:auto <app>")
    .description("let ACME give the app certificates (the default), or not with --off")
    .option("--off", "no certificates by ACME for this app (one stored stays until certs:remove)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
With gantry up/server --acme-directory, every app with custom domains gets a certificate by
ACME unless it has one from certs:add. Examples:
  $ gantry certs:auto hello --off
  $ gantry certs:auto hello`,
    )
    .action(async (app: string, opts: { off?: boolean; json?: boolean }) => {
      const res = await clientFromEnv().json<{ app: string; auto: boolean }>(
        "PUT",
        `/v1/apps/${seg(app)}/acme`,
        { body: { auto: opts.off !== true } },
      );
      if (opts.json === true) return json(o, res);
      o.out(`${app}: certificates by ACME ${res.auto ? "on" : "off"}`);
    });
}
