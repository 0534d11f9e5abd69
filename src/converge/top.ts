/**
 * top.yaml, Salt's top file: which states a role runs (and the role's vars), and which states
 * a run selects — the explicit ones, or the roles'.
 */
import { StateError } from "./errors.js";
import { isRecord, isStringList } from "./values.js";
import type { TopDecl } from "./types.js";
import { YamlSource } from "./yaml-source.js";

/** Where state and template sources live, never read as states. */
export const SOURCE_DIRS = ["templates/", "files/"];

/** The states a dir holds, by name (`nginx` for nginx.yaml and nginx/init.yaml). */
export function stateNames(files: Record<string, string>, topFile: string): string[] {
  return Object.keys(files)
    .filter((f) => /\.ya?ml$/.test(f) && f !== topFile && !SOURCE_DIRS.some((d) => f.startsWith(d)))
    .map((f) => f.replace(/(\/init)?\.ya?ml$/, ""));
}

/** The file of state `name`: `name.yaml`, `name.yml` or `name/init.yaml`. */
export function stateFile(files: Record<string, string>, name: string): string | undefined {
  for (const f of [`${name}.yaml`, `${name}.yml`, `${name}/init.yaml`, `${name}/init.yml`])
    if (files[f] !== undefined) return f;
  return undefined;
}

/** The states of a run: the explicit ones, else the roles' from top.yaml; in order, deduplicated. */
export function selectStates(
  top: TopDecl | undefined,
  only: { roles: string[]; states: string[] },
  topFile = "top.yaml",
  errors: StateError[] = [],
): { name: string; ref: { file: string; line: number } | undefined }[] {
  const out = new Map<string, { file: string; line: number } | undefined>();
  if (only.states.length > 0) {
    for (const s of only.states) out.set(s, undefined);
  } else {
    for (const role of only.roles) {
      const r = top?.roles[role];
      if (r === undefined) {
        const known = top === undefined ? [] : Object.keys(top.roles);
        errors.push(
          new StateError(
            top === undefined ? undefined : { file: topFile, line: 1 },
            top === undefined
              ? `role "${role}" needs a ${topFile} that maps roles to states`
              : `role "${role}" is not in ${topFile}` +
                (known.length === 0 ? "" : ` — known: ${known.join(", ")}`),
          ),
        );
        continue;
      }
      for (const s of r.states) if (!out.has(s)) out.set(s, r.source);
    }
  }
  return [...out].map(([name, ref]) => ({ name, ref }));
}

export function loadTop(file: string, text: string, errors: StateError[]): TopDecl | undefined {
  const y = new YamlSource(file, text);
  errors.push(...y.errors);
  if (y.errors.length > 0) return undefined;
  const top: TopDecl = { roles: {} };
  if (y.value === null || y.value === undefined) return top;
  if (!isRecord(y.value)) {
    errors.push(y.error([], "expected a map of role → list of states"));
    return undefined;
  }
  for (const [role, v] of Object.entries(y.value)) {
    const source = y.ref([role]);
    let states: unknown = v;
    let vars: unknown = {};
    if (isRecord(v)) {
      for (const k of Object.keys(v))
        if (k !== "states" && k !== "vars")
          errors.push(y.error([role, k], `unknown field — a role has "states" and "vars"`));
      states = v["states"] ?? [];
      vars = v["vars"] ?? {};
      if (!isRecord(vars)) {
        errors.push(y.error([role, "vars"], "expected a map of name → value"));
        vars = {};
      }
    }
    const path = isRecord(v) ? [role, "states"] : [role];
    if (!isStringList(states)) {
      errors.push(y.error(path, "expected a list of state names, like [base, nginx]"));
      continue;
    }
    top.roles[role] = { states, vars: vars as Record<string, unknown>, source };
  }
  return top;
}

// Where each state's vars are written, for errors found when compile renders them.
