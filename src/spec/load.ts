import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { ValidationError } from "../errors.js";
import { DRIFT_MODES, isItemName, ItemNameSchema, type DriftMode } from "../model/stack-names.js";
import { didYouMean } from "../text/suggest.js";
import { fieldName, YamlDoc, type Path } from "../text/yaml-doc.js";
import { checkStack } from "./check.js";
import { SpecLoadError, type LoadProblem } from "./errors.js";
import { itemIssues } from "./issues.js";
import type { SpecItem } from "./kind.js";
import type { KindRegistry } from "./registry.js";
import {
  interpolate,
  interpolateDeep,
  isPlainObject,
  VAR_NAME,
  type Scalar,
  type VarScope,
} from "./vars.js";

export const STACK_FILE = "gantry.yaml";

// Positions need the `yaml` package: loaded on first use (see YamlLib).
const require = createRequire(import.meta.url);
const yamlLib = (): typeof import("yaml") => require("yaml") as typeof import("yaml");

/** The `stack:` block of gantry.yaml. */
export interface StackSettings {
  name: string;
  /** What the sync loop does about hand edits: re-apply, report, or leave them alone. */
  drift: DriftMode;
  /** Destroy items gone from the spec (otherwise they are orphans, left running). */
  prune: boolean;
}

export const DEFAULT_SETTINGS: StackSettings = { name: "default", drift: "warn", prune: false };

/** A loaded, checked stack: what the planner needs from the folder. */
export interface LoadedStack {
  dir: string;
  file: string;
  settings: StackSettings;
  items: SpecItem[];
  /** Per kind name: the name prefixes the stack owns whole (`kvPrefixes`). */
  prefixes: Map<string, string[]>;
}

export interface LoadOptions {
  /** For `${env.X}` (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Load `gantry.yaml` from a stack folder into typed items, or throw a SpecLoadError listing every
 * problem (`gantry.yaml:12: apps.web.formaton: unknown field — did you mean "formation"?`).
 * Nothing touches the platform here: references and kind checks run on the files alone.
 */
export async function loadStack(
  dir: string,
  registry: KindRegistry,
  opts: LoadOptions = {},
): Promise<LoadedStack> {
  const abs = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(abs, STACK_FILE), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError(
      code === "ENOENT"
        ? `no ${STACK_FILE} in ${abs} (give the stack's folder, or run where gantry.yaml is)`
        : `cannot read ${join(abs, STACK_FILE)}: ${(err as Error).message}`,
      "DIR",
    );
  }
  return loadStackText(abs, text, registry, opts);
}

/**
 * The loader without the file system (the text of gantry.yaml is given): the kinds whose
 * sections the file has are preloaded first (see Kind.preload).
 */
export async function loadStackText(
  dir: string,
  text: string,
  registry: KindRegistry,
  opts: LoadOptions = {},
): Promise<LoadedStack> {
  const doc = new YamlDoc(STACK_FILE, text, yamlLib);
  const root = doc.value;
  if (isPlainObject(root))
    await Promise.all(
      Object.keys(root).map((section) =>
        (registry.forSection(section) ?? registry.forTopLevel(section))?.preload?.(),
      ),
    );
  return parseDoc(dir, doc, registry, opts);
}

/** `loadStackText` without awaiting: for tests, and kinds that need no preload (or had it). */
export function parseStack(
  dir: string,
  text: string,
  registry: KindRegistry,
  opts: LoadOptions = {},
): LoadedStack {
  return parseDoc(dir, new YamlDoc(STACK_FILE, text, yamlLib), registry, opts);
}

function parseDoc(
  dir: string,
  doc: YamlDoc,
  registry: KindRegistry,
  opts: LoadOptions,
): LoadedStack {
  if (doc.problems.length > 0)
    throw new SpecLoadError(
      doc.problems.map((p) => ({ file: STACK_FILE, line: p.line, path: "", message: p.message })),
    );
  const problems: LoadProblem[] = [];
  // Items written as a top-level key (`states: ./states`) are named where they are written.
  const written = new Map<string, string>();
  const report: Report = (path, message) => {
    const key = written.get(`${String(path[0])}\0${String(path[1])}`);
    const at = key === undefined ? path : [key, ...path.slice(2)];
    problems.push({ file: STACK_FILE, line: doc.lineOf(at), path: fieldName(at), message });
  };

  const root = doc.value ?? {};
  if (!isPlainObject(root)) {
    report([], "gantry.yaml must be a map of sections (stack, vars, apps, kv, …)");
    throw new SpecLoadError(problems);
  }
  const env = opts.env ?? process.env;
  const scope: VarScope = { vars: readVars(root["vars"], env, report), env };
  const settings = readSettings(root["stack"], scope, report);

  const items: SpecItem[] = [];
  const declared = new Set<string>();
  const prefixes = new Map<string, string[]>();
  for (const [section, body] of Object.entries(root)) {
    if (section === "stack" || section === "vars") continue;
    const kind = registry.forSection(section);
    if (kind !== undefined) {
      if (body === null) continue;
      if (!isPlainObject(body)) {
        report([section], `must be a map of ${kind.name} names to their settings`);
        continue;
      }
      for (const [name, raw] of Object.entries(body)) {
        declared.add(`${kind.name}/${name}`);
        const before = problems.length;
        const item = readItem(doc, kind.name, section, name, raw, kind.schema, scope, report);
        if (item !== undefined && problems.length === before) items.push(item);
      }
      continue;
    }
    const single = registry.forTopLevel(section);
    if (single !== undefined) {
      if (isPlainObject(root[single.section]) && section in (root[single.section] as object)) {
        report([section], `is also set in ${single.section}.${section}: keep one of the two`);
        continue;
      }
      written.set(`${single.section}\0${section}`, section);
      declared.add(`${single.name}/${section}`);
      const before = problems.length;
      const item = readItem(
        doc,
        single.name,
        single.section,
        section,
        body,
        single.schema,
        scope,
        report,
      );
      if (item !== undefined && problems.length === before) items.push(item);
      continue;
    }
    const owner = registry.forPrefixSection(section);
    if (owner !== undefined) {
      const list = readPrefixes(section, body, report);
      if (list.length > 0) prefixes.set(owner.name, list);
      continue;
    }
    report([section], `unknown section${didYouMean(section, registry.sections())}`);
  }
  for (const p of checkStack(items, declared, registry, dir))
    report([sectionOf(registry, p.kind), p.name, ...p.path], p.message);
  if (problems.length > 0) throw new SpecLoadError(sortProblems(problems));
  return { dir, file: STACK_FILE, settings, items, prefixes };
}

function sectionOf(registry: KindRegistry, kind: string): string {
  return registry.get(kind)?.section ?? kind;
}

function sortProblems(problems: LoadProblem[]): LoadProblem[] {
  return [...problems].sort((a, b) => a.line - b.line);
}

function readVars(raw: unknown, env: VarScope["env"], report: Report): Map<string, Scalar> {
  const vars = new Map<string, Scalar>();
  if (raw === undefined || raw === null) return vars;
  if (!isPlainObject(raw)) {
    report(["vars"], "must be a map of names to values");
    return vars;
  }
  for (const [name, v] of Object.entries(raw)) {
    if (!VAR_NAME.test(name)) {
      report(
        ["vars", name],
        "a variable name is letters, digits and _ (not starting with a digit)",
      );
      continue;
    }
    if (typeof v === "string") {
      // Variables may read the environment, not each other (no order or cycles to explain).
      const r = interpolate(v, { vars: new Map(), env }, ["env"]);
      for (const p of r.problems) report(["vars", name], p);
      if (r.problems.length === 0) vars.set(name, r.value as Scalar);
    } else if (typeof v === "number" || typeof v === "boolean") vars.set(name, v);
    else report(["vars", name], "a variable is a string, a number or true/false");
  }
  return vars;
}

function readSettings(raw: unknown, scope: VarScope, report: Report): StackSettings {
  const settings = { ...DEFAULT_SETTINGS };
  if (raw === undefined || raw === null) return settings;
  if (!isPlainObject(raw)) {
    report(["stack"], "must be a map: name, drift, prune");
    return settings;
  }
  const value = interpolateDeep(raw, scope, ["stack"], report) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) {
    const path = ["stack", k];
    if (k === "name") {
      if (typeof v === "string" && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(v)) settings.name = v;
      else report(path, "a stack name is letters, digits and _ . - (at most 128)");
    } else if (k === "drift") {
      if (DRIFT_MODES.includes(v as DriftMode)) settings.drift = v as DriftMode;
      else report(path, `must be one of ${DRIFT_MODES.join(", ")}`);
    } else if (k === "prune") {
      if (typeof v === "boolean") settings.prune = v;
      else report(path, "must be true or false");
    } else report(path, `unknown field${didYouMean(k, ["name", "drift", "prune"])}`);
  }
  return settings;
}

function readPrefixes(section: string, raw: unknown, report: Report): string[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) {
    report([section], "must be a list of prefixes");
    return [];
  }
  const out: string[] = [];
  raw.forEach((p, i) => {
    if (typeof p !== "string" || p === "" || !ItemNameSchema.safeParse(p).success)
      report([section, i], "a prefix is a non-empty string");
    else out.push(p);
  });
  return out;
}

function readItem(
  doc: YamlDoc,
  kind: string,
  section: string,
  name: string,
  raw: unknown,
  schema: Parameters<typeof itemIssues>[0],
  scope: VarScope,
  report: Report,
): SpecItem | undefined {
  const base = [section, name];
  let failed = false;
  const fail: Report = (path, message) => {
    failed = true;
    report(path, message);
  };
  const named = isItemName(name) ? undefined : ItemNameSchema.safeParse(name);
  if (named?.success === false)
    fail(base, `the name ${named.error.issues[0]?.message ?? "is not valid"}`);
  let body = raw;
  let protect: boolean | undefined;
  let drift: DriftMode | undefined;
  if (isPlainObject(raw)) {
    const { protect: p, drift: d, ...rest } = raw;
    body = rest;
    if (p !== undefined) {
      if (typeof p === "boolean") protect = p;
      else fail([...base, "protect"], "must be true or false");
    }
    if (d !== undefined) {
      if (DRIFT_MODES.includes(d as DriftMode)) drift = d as DriftMode;
      else fail([...base, "drift"], `must be one of ${DRIFT_MODES.join(", ")}`);
    }
  }
  // Fields whose interpolation failed are reported once: the schema's view of them is noise.
  const unresolved: string[] = [];
  const value = interpolateDeep(body, scope, base, (path, message) => {
    unresolved.push(fieldName(path));
    fail(path, message);
  });
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const i of itemIssues(schema, value)) {
      const path = [...base, ...i.path];
      if (!unresolved.includes(fieldName(path))) fail(path, i.message);
    }
    return undefined;
  }
  if (failed) return undefined;
  const item: SpecItem = {
    kind,
    name,
    spec: parsed.data,
    at: "",
    ...(protect === undefined ? {} : { protect }),
    ...(drift === undefined ? {} : { drift }),
  };
  // The line is found only when someone reads it: most items never show one.
  let line: number | undefined;
  Object.defineProperty(item, "at", {
    enumerable: true,
    get: () => `${doc.file}:${(line ??= doc.lineOf(base))}`,
  });
  return item;
}

type Report = (path: Path, message: string) => void;
