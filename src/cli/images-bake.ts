import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { printer, summaryLine } from "../converge/format.js";
import { colours, json, type Output } from "../output/output.js";
import type { BakeEvent, BakeResult } from "../bake/bake.js";
import type { BakeFailed } from "../bake/failure.js";
import { parseExtraVars } from "./converge.js";

interface BakeFlags {
  from: string;
  states: string;
  role: string;
  extraVar?: string[];
  onError: string;
  minFree: string;
  push: boolean;
  json?: boolean;
}

const collect = (v: string, all: string[] = []): string[] => [...all, v];

/** `gantry images:bake`: a node image from a base image and a role's states (Packer's job). */
export function registerImagesBakeCommands(program: Command, o: Output): void {
  program
    .command("images:bake")
    .description("bake a node image: converge a role inside a container, commit it, push it")
    .argument("<NAME>", "the image's name: it becomes images/NAME")
    .requiredOption("--from <image>", "the base image (on this machine's Docker engine)")
    .requiredOption("--states <dir>", "the states dir (top.yaml and state files)")
    .requiredOption("--role <role>", "the role of top.yaml to apply")
    .option(
      "-e, --extra-var <k=v>",
      "a var, above all others (repeatable; or a JSON object)",
      collect,
    )
    .option("--on-error <mode>", "abort: remove a failed bake's container; keep: leave it", "abort")
    .option("--min-free <size>", "refuse to bake below this much free disk for Docker", "2GB")
    .option("--no-push", "do not push to Gantry's registry even when a server has one")
    .option("--json", "print one JSON object: the image, or the error and the report")
    .addHelpText(
      "after",
      `
The bake runs on this machine, against its Docker engine (like Packer): a container from --from
runs Gantry's converge for --role as root (with no-new-privileges), and is committed to
images/NAME:<key>. The key hashes the base image, the states dir, the role and the vars: baking
again with nothing changed reuses the image in well under a second. When a Gantry server with a
registry answers (GANTRY_ADDR, or the one \`gantry up\` started), the image is pushed to
<registry>/images/NAME and printed pinned by digest. --from needs /bin/sh and node >= 20
(Gantry's base image has both: \`docker images gantry/base\` shows its tag). Exit status: 0 baked
or reused, 2 a resource failed, 1 bad input.

Examples:
  $ gantry images:bake web --from gantry/base --states examples/bake --role web
  $ gantry images:bake web --from gantry/base --states ./states --role web -e port=8080
  $ gantry images:bake web --from gantry/base --states ./states --role web --on-error keep
  $ gantry images:bake web --from gantry/base --states ./states --role web --json | jq -r .ref

Docs: docs/containers.md (Baked node images)`,
    )
    .action(async (name: string, flags: BakeFlags) => {
      process.exitCode = await runBake(name, flags, o);
    });
}

async function runBake(name: string, flags: BakeFlags, o: Output): Promise<number> {
  if (flags.onError !== "abort" && flags.onError !== "keep")
    throw new ValidationError(
      `--on-error must be abort or keep, got "${flags.onError}"`,
      "--on-error",
    );
  const minFreeBytes = parseSize(flags.minFree);
  const vars = parseExtraVars(flags.extraVar ?? []);
  // Loaded here, not at the CLI's start: the other commands never pay for dockerode.
  const [{ bake }, { findRegistry }] = await Promise.all([
    import("../bake/bake.js"),
    import("./images-bake-push.js"),
  ]);
  const c = colours(o);
  const asJson = flags.json === true;
  let pushNote: string | undefined;
  const note = (line: string): void => {
    if (!asJson) o.err(c.dim(line));
  };
  const why = (reason: string): void => {
    pushNote = reason;
    note(reason);
  };
  const show = asJson
    ? undefined
    : printer((line) => o.out(line), { diff: false, verbose: false, progress: o.tty, style: c });
  const onEvent = (e: BakeEvent): void => {
    if (e.kind === "step") note(`==> ${e.message}`);
    else if (e.kind === "warning") o.err(`gantry: warning: ${e.message}`);
    else if (e.kind === "output") note(`    ${e.line}`);
    else if (e.event.kind === "done") note(summaryLine(e.event.report, c));
    else show?.(e.event);
  };
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const result = await bake(
      {
        name,
        from: flags.from,
        statesDir: flags.states,
        role: flags.role,
        vars,
        onError: flags.onError,
        minFreeBytes,
      },
      {
        ...(flags.push ? { registry: () => findRegistry(why) } : {}),
        onEvent,
        signal: abort.signal,
      },
    );
    printResult(result, asJson, pushNote, o);
    return 0;
  } catch (err) {
    if (!isBakeFailed(err)) throw err;
    if (asJson) {
      json(o, {
        error: err.toJSON(),
        kept: err.kept ?? null,
        summary: err.report?.summary ?? null,
        resources: err.report?.resources ?? [],
      });
    } else {
      o.err(`gantry: ${err.message}`);
      if (err.kept !== undefined) printKept(err.kept, o);
    }
    return err.code === "bake_failed" ? 2 : err.code === "bake_interrupted" ? 130 : 1;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

function isBakeFailed(err: unknown): err is BakeFailed {
  return err instanceof Error && err.name === "BakeFailed";
}

function printResult(
  r: BakeResult,
  asJson: boolean,
  pushNote: string | undefined,
  o: Output,
): void {
  const { report, ...rest } = r;
  if (asJson) {
    json(o, {
      ...rest,
      ...(pushNote === undefined ? {} : { pushNote }),
      summary: report?.summary ?? null,
      resources: report?.resources ?? [],
    });
    return;
  }
  const c = colours(o);
  const secs = `${(r.durationMs / 1000).toFixed(2)}s`;
  o.err(
    r.reused
      ? c.dim(`reused ${r.tag} (nothing changed) in ${secs}`)
      : c.dim(`baked ${r.tag} in ${secs}`),
  );
  // The last line is the reference to boot from: by digest when pushed, else the image id.
  o.out(r.ref);
}

function printKept(name: string, o: Output): void {
  o.err(`the failed container ${name} was kept for inspection:`);
  o.err(`  docker logs ${name}      # the converge output`);
  o.err(`  docker diff ${name}      # what it changed`);
  o.err(`  docker rm -f ${name}     # when done (the next bake of the same inputs replaces it)`);
}

/** `2GB`, `500MB`, `0`: a size in bytes (decimal units, as df -H shows them). */
export function parseSize(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$/i.exec(raw.trim());
  if (m === null)
    throw new ValidationError(
      `--min-free must be a size like 2GB or 500MB, got "${raw}"`,
      "--min-free",
    );
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[(m[2] ?? "B").toUpperCase()]!;
  return Math.round(Number(m[1]) * unit);
}
