import { BuildError } from "./errors.js";

/** Process type names, as ProcessTypeSchema in src/model/app.ts (they become `web.1` etc.). */
const TYPE = /^[a-z][a-z0-9_-]{0,29}$/;
const MAX_COMMAND = 4096;
const MAX_TYPES = 50;

/**
 * Parse a Procfile: one `type: command` per line; blank lines and `#` comments are allowed.
 * Stricter than Heroku (which silently skips lines it does not understand): a typo here would
 * otherwise become a process type that never runs. Errors name the line.
 */
export function parseProcfile(text: string): Record<string, string> {
  const types: Record<string, string> = {};
  const firstLine = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new BuildError(
        `Procfile line ${n}: expected "type: command" (like "web: node server.js"), got ${JSON.stringify(clip(line))}`,
      );
    }
    const type = line.slice(0, colon).trim();
    const command = line.slice(colon + 1).trim();
    if (!TYPE.test(type)) {
      throw new BuildError(
        `Procfile line ${n}: ${JSON.stringify(clip(type))} is not a valid process type (lower-case letters, digits, _ and -, starting with a letter, at most 30)`,
      );
    }
    if (command === "")
      throw new BuildError(`Procfile line ${n}: the command for "${type}" is empty`);
    if (command.length > MAX_COMMAND) {
      throw new BuildError(
        `Procfile line ${n}: the command for "${type}" is longer than ${MAX_COMMAND} characters`,
      );
    }
    const first = firstLine.get(type);
    if (first !== undefined) {
      throw new BuildError(
        `Procfile line ${n}: "${type}" is declared twice (first on line ${first})`,
      );
    }
    firstLine.set(type, n);
    types[type] = command;
  });
  const count = Object.keys(types).length;
  if (count === 0) {
    throw new BuildError(
      "the Procfile declares no process types — add a line like `web: node server.js`",
    );
  }
  if (count > MAX_TYPES) {
    throw new BuildError(`the Procfile declares ${count} process types; at most ${MAX_TYPES}`);
  }
  return types;
}

const clip = (s: string): string => (s.length > 80 ? s.slice(0, 77) + "…" : s);
