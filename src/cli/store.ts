import type { Command } from "commander";
import { ValidationError } from "../errors.js";
import { openStore } from "../store/index.js";
import { json, table, type Output } from "../output/output.js";

const DEFAULT_STORE = process.env["GANTRY_STORE"] ?? `${process.env["HOME"] ?? "."}/.gantry/store`;

/** `gantry store …`: look at and maintain the store directly (admin, server stopped for sqlite). */
export function registerStoreCommands(program: Command, o: Output): void {
  const store = program
    .command("store")
    .description("inspect and maintain the store (embedded SQLite or etcd)")
    .addHelpText(
      "after",
      `
Examples:
  $ gantry store status --store ~/.gantry/store
  $ gantry store status --store etcd://127.0.0.1:2379 --json
  $ gantry store compact 1200 --store etcd://127.0.0.1:2379`,
    );

  store
    .command("status")
    .description("show the backend, current revision and compacted revision")
    .option(
      "--store <location>",
      "a data directory, sqlite:DIR or etcd://HOST:PORT[,…]",
      DEFAULT_STORE,
    )
    .option("--json", "print JSON")
    .action(async (opts: { store: string; json?: boolean }) => {
      const s = await openStore(opts.store);
      try {
        const st = await s.status();
        if (opts.json) json(o, st);
        else
          table(
            o,
            ["BACKEND", "REVISION", "COMPACTED"],
            [[st.backend, String(st.revision), String(st.compactRevision)]],
          );
      } finally {
        await s.close();
      }
    });

  store
    .command("compact <revision>")
    .description("discard history older than REVISION")
    .option(
      "--store <location>",
      "a data directory, sqlite:DIR or etcd://HOST:PORT[,…]",
      DEFAULT_STORE,
    )
    .action(async (revision: string, opts: { store: string }) => {
      const rev = parseRevision(revision);
      const s = await openStore(opts.store);
      try {
        await s.compact(rev);
        o.out(`compacted to revision ${rev}`);
      } finally {
        await s.close();
      }
    });
}

function parseRevision(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) {
    throw new ValidationError(`revision must be a whole number, got "${raw}"`, "revision");
  }
  return n;
}
