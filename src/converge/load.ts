import type * as z from "zod";
import { parseDuration } from "../model/duration.js";
import { StateError } from "./errors.js";
import { throwIfAny } from "./error-list.js";
import { resourceTypes } from "./resources/index.js";
import { isTemplated } from "./render.js";
import { didYouMean } from "../text/suggest.js";
import type { ResourceDecl, ResourceType, SourceRef, StateDecl, StateSet } from "./types.js";
import { checkSources, checkTemplates, hasTemplates, templatedAt } from "./load-templates.js";
import { isRecord, isStringList } from "./values.js";
import { loadTop, selectStates, SOURCE_DIRS, stateFile, stateNames } from "./top.js";
import { fieldName, YamlSource, type Path } from "./yaml-source.js";

/** The fields every resource may have, whatever its type; the type's schema checks the rest. */
export const COMMON_FIELDS = [
  "id",
  "require",
  "notify",
  "onChanges",
  "when",
  "forEach",
  "waitFor",
  "runOnce",
  "secret",
] as const;
const COMMON = new Set<string>(COMMON_FIELDS);
const STATE_KEYS = ["vars", "secretVars", "resources", "handlers"];
/** Folders of a states dir that hold sources and templates, never states. */
const DEFAULT_WAIT_MS = 60_000;

export type TypeMap = ReadonlyMap<string, ResourceType<never>>;

export interface LoadOptions {
  /** The resource types (default: every registered type). */
  types?: TypeMap;
  /** Shown in StateSet.dir. */
  dir?: string;
  /**
   * Load only what these roles (via top.yaml) or states need. Without it every `.yaml` file is
   * loaded (except top.yaml and what lies under templates/ and files/).
   */
  only?: { roles: string[]; states: string[] };
}

/**
 * Read and validate a states dir (relative path → content): top.yaml and the state files, every
 * field checked, every inline template and template source compiled. Throws a StateError listing
 * every problem as `file:line: field: message`.
 */
export function loadStates(files: Record<string, string>, opts: LoadOptions = {}): StateSet {
  const types = opts.types ?? resourceTypes;
  const errors: StateError[] = [];
  const topText = files["top.yaml"] ?? files["top.yml"];
  const topFile = files["top.yaml"] === undefined ? "top.yml" : "top.yaml";
  const top = topText === undefined ? undefined : loadTop(topFile, topText, errors);

  const wanted = new Map<string, { file: string } | StateError>();
  if (opts.only === undefined) {
    for (const file of Object.keys(files).sort()) {
      if (!/\.ya?ml$/.test(file) || file === topFile) continue;
      if (SOURCE_DIRS.some((d) => file.startsWith(d))) continue;
      wanted.set(file.replace(/(\/init)?\.ya?ml$/, ""), { file });
    }
  } else {
    for (const name of selectStates(top, opts.only, topFile, errors)) {
      const file = stateFile(files, name.name);
      wanted.set(
        name.name,
        file === undefined
          ? new StateError(
              name.ref,
              `state "${name.name}" not found: no ${name.name}.yaml or ${name.name}/init.yaml` +
                didYouMean(name.name, stateNames(files, topFile)),
            )
          : { file },
      );
    }
  }

  const states = new Map<string, StateDecl>();
  for (const [name, found] of wanted) {
    if (found instanceof StateError) {
      errors.push(found);
      continue;
    }
    const state = loadState(name, found.file, files[found.file]!, { types, files, errors });
    if (state !== undefined) states.set(name, state);
  }
  throwIfAny(errors);
  return { dir: opts.dir ?? "", top, states };
}

const varRefs = new WeakMap<StateDecl, Map<string, SourceRef>>();

/** The line of a state's default var, for errors. */
export function varSource(state: StateDecl, name: string): SourceRef {
  return varRefs.get(state)?.get(name) ?? { file: state.file, line: 1 };
}

interface LoadContext {
  types: TypeMap;
  files: Record<string, string>;
  errors: StateError[];
}

function loadState(
  name: string,
  file: string,
  text: string,
  cx: LoadContext,
): StateDecl | undefined {
  const y = new YamlSource(file, text);
  cx.errors.push(...y.errors);
  if (y.errors.length > 0) return undefined;
  const state: StateDecl = { name, file, vars: {}, secretVars: [], resources: [], handlers: [] };
  if (y.value === null || y.value === undefined) return state;
  if (!isRecord(y.value)) {
    cx.errors.push(y.error([], "expected a map with vars, secretVars, resources and handlers"));
    return undefined;
  }
  const doc = y.value;
  for (const k of Object.keys(doc))
    if (!STATE_KEYS.includes(k))
      cx.errors.push(y.error([k], `unknown field — a state has ${STATE_KEYS.join(", ")}`));
  if (doc["vars"] !== undefined && doc["vars"] !== null) {
    if (isRecord(doc["vars"])) {
      state.vars = doc["vars"];
      varRefs.set(state, new Map(Object.keys(state.vars).map((k) => [k, y.ref(["vars", k])])));
    } else cx.errors.push(y.error(["vars"], "expected a map of name → value"));
  }
  if (doc["secretVars"] !== undefined) {
    if (isStringList(doc["secretVars"])) state.secretVars = doc["secretVars"];
    else cx.errors.push(y.error(["secretVars"], "expected a list of var names"));
  }
  for (const kind of ["resources", "handlers"] as const) {
    const list = doc[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      cx.errors.push(y.error([kind], "expected a list of resources"));
      continue;
    }
    list.forEach((raw, i) => {
      const decl = loadResource(y, [kind, i], raw, kind === "handlers", cx);
      if (decl !== undefined) state[kind].push(decl);
    });
  }
  return state;
}

function loadResource(
  y: YamlSource,
  path: Path,
  raw: unknown,
  handler: boolean,
  cx: LoadContext,
): ResourceDecl | undefined {
  const before = cx.errors.length;
  const err = (sub: Path, message: string): void => {
    cx.errors.push(y.error([...path, ...sub], message));
  };
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    err([], `expected a resource like "file: /etc/motd" with its fields`);
    return undefined;
  }
  const typeKey = Object.keys(raw)[0]!;
  const type = cx.types.get(typeKey);
  if (type === undefined) {
    const known = [...cx.types.keys()].sort().join(", ");
    const hint = didYouMean(typeKey, cx.types.keys());
    err(
      [typeKey],
      `unknown resource type "${typeKey}"` +
        (hint !== ""
          ? hint
          : (known === "" ? "" : ` — known: ${known}`) +
            " (the first key of a resource names its type)"),
    );
    return undefined;
  }
  const nameRaw = raw[typeKey];
  if ((typeof nameRaw !== "string" || nameRaw === "") && typeof nameRaw !== "number") {
    err([typeKey], `expected the resource's name, like "${typeKey}: /etc/motd"`);
    return undefined;
  }
  const name = String(nameRaw);
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) if (k !== typeKey && !COMMON.has(k)) props[k] = v;

  const id = optionalString(raw["id"], () => err(["id"], "expected a string"));
  const refs = (field: string): string[] => {
    const r = refList(raw[field]);
    if (r === undefined)
      err([field], `expected a list of resource ids, like [directory:/srv/app] or [{ file: /x }]`);
    return r ?? [];
  };
  const require = refs("require");
  const notify = refs("notify");
  const onChanges = refs("onChanges");

  let when: string | undefined;
  if (typeof raw["when"] === "boolean") when = String(raw["when"]);
  else if (typeof raw["when"] === "string") when = raw["when"];
  else if (raw["when"] !== undefined && raw["when"] !== null)
    err(["when"], `expected an expression, like 'facts.init == "systemd"'`);
  const forEach = raw["forEach"];
  if (
    forEach !== undefined &&
    !Array.isArray(forEach) &&
    !isRecord(forEach) &&
    !(typeof forEach === "string" && isTemplated(forEach))
  )
    err(["forEach"], `expected a list, a map, or a var like "{{ users }}"`);

  const waitFor = loadWaitFor(raw["waitFor"], (sub, m) => err(["waitFor", ...sub], m));
  const flag = (field: string): boolean | undefined => {
    const v = raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") err([field], "expected true or false");
    return v === true ? true : undefined;
  };
  const runOnce = flag("runOnce");
  const secret = flag("secret");

  if (handler) {
    for (const f of ["require", "onChanges", "forEach"] as const)
      if (raw[f] !== undefined)
        err([f], "not allowed on a handler: handlers run at the end, in the order notified");
  }

  validateProps(type, name, props, (sub, m) => err(sub, m));
  checkTemplates(y, path, raw, typeKey, cx);
  checkSources(y, path, typeKey, props, cx);
  if (cx.errors.length > before) return undefined;

  const decl: ResourceDecl = {
    type: typeKey,
    name,
    id: id ?? `${typeKey}:${name}`,
    props,
    require,
    notify,
    onChanges,
    source: y.ref(path),
  };
  if (when !== undefined) decl.when = when;
  if (forEach !== undefined) decl.forEach = forEach;
  if (waitFor !== undefined) decl.waitFor = waitFor;
  if (runOnce) decl.runOnce = true;
  if (secret) decl.secret = true;
  return decl;
}

/**
 * Check a type's fields with its schema. Values still holding `{{ }}` cannot be judged yet: their
 * problems are left to compile, which checks again after rendering.
 */
export function validateProps(
  type: ResourceType<never>,
  name: string,
  props: Record<string, unknown>,
  err: (path: Path, message: string) => void,
  final = false,
): unknown {
  const result = (type.fields as z.ZodType).safeParse(props);
  if (!result.success) {
    let reported = false;
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
      if (!final && templatedAt(props, path)) continue;
      if (issue.code === "unrecognized_keys") {
        const shape = (type.fields as { shape?: Record<string, unknown> }).shape;
        const fields = shape === undefined ? [] : Object.keys(shape);
        const known = fields.length === 0 ? "" : ` — known: ${fields.join(", ")}`;
        for (const k of issue.keys) {
          const hint = path.length > 0 ? "" : didYouMean(k, [...fields, ...COMMON_FIELDS]);
          err(
            [...path, k],
            `unknown field for ${type.type}${hint !== "" ? hint : path.length > 0 ? "" : known}`,
          );
        }
      } else {
        err(path, issue.message.replace(/^Invalid input: /, ""));
      }
      reported = true;
    }
    if (reported || final) return undefined;
  }
  if (!final && hasTemplates(props)) return result.success ? result.data : undefined;
  const problem = type.validate?.(name, (result.success ? result.data : props) as never);
  if (problem !== undefined) err([problem.field], problem.message);
  return problem === undefined && result.success ? result.data : undefined;
}

function loadWaitFor(
  raw: unknown,
  err: (path: Path, message: string) => void,
): ResourceDecl["waitFor"] {
  if (raw === undefined || raw === null) return undefined;
  const usage = `expected { key: app/ready, timeout: "30s" } or { service: db, timeout: "30s" }`;
  if (!isRecord(raw)) {
    err([], usage);
    return undefined;
  }
  for (const k of Object.keys(raw))
    if (k !== "key" && k !== "service" && k !== "timeout") err([k], `unknown field — ${usage}`);
  let timeoutMs = DEFAULT_WAIT_MS;
  if (raw["timeout"] !== undefined) {
    const t = typeof raw["timeout"] === "string" ? parseDuration(raw["timeout"]) : undefined;
    if (t === undefined) err(["timeout"], `expected a duration like "30s" or "5m"`);
    else timeoutMs = t;
  }
  const key = raw["key"];
  const service = raw["service"];
  if ((key === undefined) === (service === undefined)) {
    err([], usage);
    return undefined;
  }
  if (key !== undefined) {
    if (typeof key === "string" && key !== "") return { key, timeoutMs };
    err(["key"], "expected a key name");
  } else {
    if (typeof service === "string" && service !== "") return { service, timeoutMs };
    err(["service"], "expected a service name");
  }
  return undefined;
}

/** A list of ids: `[id, …]`, one id, or `{ type: name }` maps (Salt's style) → `type:name`. */
function refList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (const r of list) {
    if (typeof r === "string" && r !== "") out.push(r);
    else if (isRecord(r) && Object.keys(r).length === 1) {
      const [t, n] = Object.entries(r)[0]!;
      if (typeof n !== "string" && typeof n !== "number") return undefined;
      out.push(`${t}:${n}`);
    } else return undefined;
  }
  return out;
}

function optionalString(v: unknown, bad: () => void): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string" && v !== "") return v;
  bad();
  return undefined;
}

export { fieldName };

export { selectStates, stateFile };
