import nunjucks from "nunjucks";
import { GantryError } from "../errors.js";
import {
  PENDING,
  depId,
  type DataSource,
  type Dependency,
  type KeyEntry,
  type KeyPair,
  type Pending,
} from "./types.js";

/** A template that failed to compile or render; the message starts with `FILE:LINE:`. */
export class TemplateError extends GantryError {
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, message: string, code = "template_error") {
    super(code, `${file}${line === undefined ? "" : `:${line}`}: ${message}`, { status: 400 });
    this.file = file;
    this.line = line;
  }
}

/** `key()` of a key that does not exist (with `missingKeys: "error"`). */
export class MissingKeyError extends TemplateError {
  readonly key: string;

  constructor(file: string, line: number | undefined, key: string) {
    super(file, line, `key "${key}" does not exist`, "missing_key");
    this.key = key;
  }
}

/** Thrown inside a template function; turned into a MissingKeyError with the line. */
class MissingKey extends Error {
  constructor(readonly key: string) {
    super(`key "${key}" does not exist`);
  }
}

export interface CompiledTemplate {
  file: string;
  template: nunjucks.Template;
}

export interface RenderOptions {
  /**
   * `key()` of a missing key: "error" throws MissingKeyError (for --once); "wait" renders an
   * empty string and reports the key in `missingKeys` (the watcher waits for it, as
   * consul-template does).
   */
  missingKeys?: "error" | "wait";
}

export interface RenderResult {
  output: string;
  /** Everything the render read, in the order first read. */
  deps: Dependency[];
  /** What the source had not loaded: the output is not final until this is empty. */
  pending: Dependency[];
  /** Keys read with `key()` that do not exist (only with `missingKeys: "wait"`). */
  missingKeys: string[];
}

// Config files, not HTML: no autoescape. trimBlocks + lstripBlocks: a block tag on a line of its
// own leaves no trace in the output, which is what config files want. No loader: a template is
// one file (include/import/extends fail with a clear "template not found").
const options = {
  autoescape: false,
  dev: true, // keep lineno and the original error on render errors
  trimBlocks: true,
  lstripBlocks: true,
  throwOnUndefined: false,
};
const env = new nunjucks.Environment([], options);

// nunjucks' parser and AST are untyped (and undocumented); only what checkFilters needs.
interface AstNode {
  lineno: number;
  name?: { value?: unknown };
  findAll(type: unknown): AstNode[];
}
const internals = nunjucks as unknown as {
  parser: { parse(src: string, extensions: unknown[], opts: object): AstNode };
  nodes: { Filter: unknown };
};

/** Compile a template; syntax errors become a TemplateError naming the file and line. */
export function compileTemplate(
  text: string,
  file: string,
  environment: nunjucks.Environment = env,
): CompiledTemplate {
  let template: nunjucks.Template;
  try {
    template = new nunjucks.Template(text, environment, file, true);
  } catch (err) {
    throw toTemplateError(err, file, "compile", text);
  }
  // A filter is always written after a "|": without one there is nothing to look up (and the
  // second parse is most of the cost of a small template).
  if (text.includes("|")) checkFilters(text, file, environment);
  return { file, template };
}

/**
 * nunjucks looks filters up only when a render reaches them, and then without a line: check
 * them all at compile time, so a typo fails before anything is written, naming its line.
 */
function checkFilters(text: string, file: string, environment: nunjucks.Environment): void {
  for (const node of internals.parser.parse(text, [], options).findAll(internals.nodes.Filter)) {
    const name = node.name?.value;
    if (typeof name !== "string") continue;
    try {
      environment.getFilter(name);
    } catch {
      throw new TemplateError(file, node.lineno + 1, `filter not found: ${name}`);
    }
  }
}

/**
 * Render with the functions `key`, `keyOrDefault`, `ls`, `tree`, `service` and `services`,
 * recording what was read. Values the source has not loaded render empty and are listed in
 * `pending`: the caller loads them and renders again until nothing is pending (templates whose
 * reads depend on other reads, like `service(key("name"))`, take one pass per level).
 */
export function renderTemplate(
  tpl: CompiledTemplate,
  source: DataSource,
  opts: RenderOptions = {},
): RenderResult {
  const deps = new Map<string, Dependency>();
  const pending = new Map<string, Dependency>();
  const missing = new Set<string>();

  const read = <T>(dep: Dependency, value: T | Pending, empty: T): T => {
    const id = depId(dep);
    deps.set(id, dep);
    if (value !== PENDING) return value;
    pending.set(id, dep);
    return empty;
  };
  // An empty name while something is pending is most likely a placeholder from an earlier read
  // (`service(key("name"))`): render empty and wait for the real value instead of failing.
  const name = (fn: string, arg: unknown, allowEmpty = false): string | undefined => {
    if (typeof arg !== "string") throw new Error(`${fn}() needs a string, got ${typeof arg}`);
    if (arg !== "" || allowEmpty) return arg;
    if (pending.size > 0) return undefined;
    throw new Error(`${fn}() needs a non-empty name`);
  };
  const lookup = (k: string): string | undefined =>
    read({ type: "key", key: k }, source.key(k), "" as string | undefined);
  const pairs = (fn: string, arg: unknown, direct: boolean): KeyPair[] => {
    const raw = name(fn, arg ?? "", true)!;
    const prefix = raw === "" || raw.endsWith("/") ? raw : `${raw}/`;
    const entries = read<KeyEntry[]>({ type: "prefix", prefix }, source.tree(prefix), []);
    const out: KeyPair[] = [];
    for (const e of entries) {
      if (!e.key.startsWith(prefix)) continue;
      const rel = e.key.slice(prefix.length);
      if (rel === "" || (direct && rel.includes("/"))) continue;
      out.push({ key: rel, path: e.key, value: e.value });
    }
    return out;
  };

  const functions = {
    key: (k: unknown): string => {
      const key = name("key", k);
      if (key === undefined) return "";
      const value = lookup(key);
      if (value !== undefined) return value;
      if (opts.missingKeys === "wait") {
        missing.add(key);
        return "";
      }
      throw new MissingKey(key);
    },
    keyOrDefault: (k: unknown, fallback: unknown = ""): unknown => {
      const key = name("keyOrDefault", k);
      if (key === undefined) return fallback;
      return lookup(key) ?? fallback;
    },
    ls: (prefix?: unknown) => pairs("ls", prefix, true),
    tree: (prefix?: unknown) => pairs("tree", prefix, false),
    service: (n: unknown) => {
      const svc = name("service", n);
      if (svc === undefined) return [];
      return read({ type: "service", name: svc }, source.service(svc), []);
    },
    services: () => read({ type: "services" }, source.services(), []),
  };

  let output: string;
  try {
    output = tpl.template.render(functions);
  } catch (err) {
    throw toTemplateError(err, tpl.file, "render");
  }
  return {
    output,
    deps: [...deps.values()],
    pending: [...pending.values()],
    missingKeys: [...missing],
  };
}

interface NunjucksError {
  message: string;
  lineno?: number;
  cause?: unknown;
}

/**
 * nunjucks reports compile errors with 1-based lines, render errors with 0-based ones, and
 * prefixes messages with "(file) [Line …]"; make one clean FILE:LINE: message of either.
 */
function toTemplateError(
  err: unknown,
  file: string,
  phase: "compile" | "render",
  text = "",
): TemplateError {
  const e = err as NunjucksError;
  const lineno = typeof e.lineno === "number" ? e.lineno : undefined;
  let line: number | undefined;
  if (phase === "render") line = lineno === undefined ? undefined : lineno + 1;
  // Compile errors without a position are the ones found at the end of the text.
  else line = lineno !== undefined && lineno > 0 ? lineno : text.trimEnd().split("\n").length;
  if (e.cause instanceof MissingKey) return new MissingKeyError(file, line, e.cause.key);
  let message = cleanMessage(e.cause instanceof Error ? e.cause.message : String(e.message));
  if (message === "unexpected end of file") message += " (a {% for %} or {% if %} not closed?)";
  return new TemplateError(file, line, message);
}

function cleanMessage(message: string): string {
  let m = message;
  for (;;) {
    const next = m
      .replace(/^\([^\n]*?\)(?: \[Line \d+(?:, Column \d+)?\])?\n\s*/, "")
      .replace(/^(?:Template render error|Error): /, "");
    if (next === m) return m.trim();
    m = next;
  }
}
