/**
 * A small app with a release phase (issue 15), for the release-phase tests: its Procfile's
 * `release: node migrate.js` appends a line to the file its config names (MIGRATION_LOG) — the
 * release, the TAG config value and the one-off's name — or fails with exit 1 when
 * FAIL_MIGRATION=1; its web instance reads that file when it starts and answers with it, so an
 * answer shows whether the migration ran before web started, and with which config.
 */
import { readFileSync } from "node:fs";

export const MIGRATE_OK = `import { appendFileSync } from "node:fs";
const env = process.env;
console.log("migrating v" + env.GANTRY_RELEASE + " as " + env.GANTRY_PROCESS);
if (env.FAIL_MIGRATION === "1") {
  console.error('Error: relation "users" already exists');
  process.exit(1);
}
appendFileSync(env.MIGRATION_LOG, [env.GANTRY_RELEASE, env.TAG ?? "-", env.GANTRY_PROCESS].join(" ") + "\\n");
console.log("migrated");
`;

/** A migration that always fails (new code whose release phase cannot pass). */
export const MIGRATE_FAIL = `console.log("migrating v" + process.env.GANTRY_RELEASE);
console.error("Error: column users.email cannot be null");
process.exit(1);
`;

const SERVER = `import { createServer } from "node:http";
import { readFileSync } from "node:fs";
let lines = [];
try {
  lines = readFileSync(process.env.MIGRATION_LOG, "utf8").split("\\n").filter((l) => l !== "");
} catch {}
const body = "release " + process.env.GANTRY_RELEASE + "\\nmigrations " + lines.length + "\\nlast " + (lines.at(-1) ?? "none") + "\\n";
const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "text/plain" });
  res.end(body);
});
server.listen(Number(process.env.PORT));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
`;

/** The app's files, for localRepo(). */
export const RELEASE_PHASE_APP: Record<string, string> = {
  Procfile: "web: node server.js\nrelease: node migrate.js\n",
  "package.json": JSON.stringify({ name: "mig", private: true, type: "module" }) + "\n",
  "server.js": SERVER,
  "migrate.js": MIGRATE_OK,
};

/** The lines the migrations wrote: `<release> <TAG> <one-off name>`. */
export function migrations(file: string): string[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "");
  } catch {
    return [];
  }
}
