import type { Command } from "commander";
import { ApiError } from "../client/errors.js";
import type { ApiKeyValue } from "../client/client.js";
import { ValidationError } from "../errors.js";
import { clientFromEnv } from "./config.js";
import { json, table, type Output } from "../output/output.js";

const decode = (b64: string): string => Buffer.from(b64, "base64").toString("utf8");

/** A revision flag (`--cas`, `--from`): a whole number, or an error naming the flag. */
function parseRevision(raw: string | undefined, flag: string): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) {
    const what = flag === "--cas" ? "a modRevision" : "a revision";
    throw new ValidationError(`${flag} must be ${what} (a whole number), got "${raw}"`, flag);
  }
  return Number(raw);
}

export function registerKvCommands(program: Command, o: Output): void {
  const kv = program
    .command("kv")
    .description("read and write the key/value store")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry kv put app/config/port 8080
  $ gantry kv get app/config/port
  $ gantry kv put app/leader me --cas 0      # only if absent; exits 1 if it exists
  $ gantry kv ls app/ --json
  $ gantry kv del app/ --prefix
  $ gantry kv watch app/`,
    );

  kv.command("get <key>")
    .description("print a key's value")
    .option("--json", "print the entry as JSON (value in base64, revisions)")
    .action(async (key: string, opts: { json?: boolean }) => {
      const entry = await clientFromEnv().kvGet(key);
      if (entry === undefined) throw new ApiError(404, "not_found", `key "${key}" not found`);
      if (opts.json) json(o, { ...entry, value: decode(entry.value) });
      else o.out(decode(entry.value));
    });

  kv.command("put <key> [value]")
    .description("write a key (the value, or standard input when omitted)")
    .option(
      "--cas <modRevision>",
      "write only if the key's modRevision is this (0: only if absent)",
    )
    .option("--lease <id>", "attach the key to a lease")
    .action(
      async (key: string, value: string | undefined, opts: { cas?: string; lease?: string }) => {
        const body = value ?? (await readStdin());
        const cas = parseRevision(opts.cas, "--cas");
        const revision = await clientFromEnv().kvPut(key, body, {
          ...(cas === undefined ? {} : { cas }),
          ...(opts.lease === undefined ? {} : { lease: opts.lease }),
        });
        o.out(`ok (revision ${revision})`);
      },
    );

  kv.command("del <key>")
    .alias("delete")
    .description("delete a key, or every key under a prefix")
    .option("--prefix", "delete every key that starts with KEY")
    .option("--cas <modRevision>", "delete only if the key's modRevision is this")
    .action(async (key: string, opts: { prefix?: boolean; cas?: string }) => {
      const cas = parseRevision(opts.cas, "--cas");
      const revision = await clientFromEnv().kvDelete(key, {
        recurse: opts.prefix === true,
        ...(cas === undefined ? {} : { cas }),
      });
      o.out(`ok (revision ${revision})`);
    });

  kv.command("ls [prefix]")
    .description("list keys under a prefix with their revisions")
    .option("--json", "print JSON")
    .action(async (prefix: string | undefined, opts: { json?: boolean }) => {
      const entries = (await clientFromEnv().kvList(prefix ?? "")) as ApiKeyValue[];
      if (opts.json)
        return json(
          o,
          entries.map((e) => ({ ...e, value: decode(e.value) })),
        );
      table(
        o,
        ["KEY", "MODREV", "VERSION", "VALUE"],
        entries.map((e) => [
          e.key,
          String(e.modRevision),
          String(e.version),
          preview(decode(e.value)),
        ]),
        "(no keys)",
      );
    });

  kv.command("watch <prefix>")
    .description("print changes under a prefix as they happen (Ctrl-C to stop)")
    .option("--from <revision>", "start at this revision (replaying history)")
    .option("--json", "print one JSON object per event")
    .action(async (prefix: string, opts: { from?: string; json?: boolean }) => {
      const start = parseRevision(opts.from, "--from");
      const client = clientFromEnv();
      // kvWatch rides out a server restart by retrying for a while; a server that is not there
      // at all should get the usual one-line answer at once.
      await client.health();
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      for await (const batch of client.kvWatch(prefix, {
        recurse: true,
        signal: abort.signal,
        ...(start === undefined ? {} : { start }),
      })) {
        for (const e of batch.events) {
          if (opts.json) o.out(JSON.stringify({ ...e, value: decode(e.value) }));
          else
            o.out(
              `${batch.revision}\t${e.type.toUpperCase()}\t${e.key}${e.type === "put" ? `\t${preview(decode(e.value))}` : ""}`,
            );
        }
      }
    });
}

function preview(v: string): string {
  const oneLine = v.replace(/\s+/g, " ");
  return oneLine.length > 60 ? oneLine.slice(0, 57) + "…" : oneLine;
}

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY)
    throw new ValidationError("give a value, or pipe it on standard input", "value");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
