import { StateError } from "./errors.js";
import { throwIfAny } from "./error-list.js";
import { order, resolveRefs } from "./graph.js";
import { selectStates, validateProps, varSource, type TypeMap } from "./load.js";
import { hasTemplates } from "./load-templates.js";
import { isRecord } from "./values.js";
import { secretStrings } from "./redact.js";
import { isTemplated, RenderFailure, Renderer } from "./render.js";
import { resourceTypes } from "./resources/index.js";
import type {
  ControlPlane,
  Facts,
  Plan,
  ResourceDecl,
  StateDecl,
  StateSet,
  Step,
} from "./types.js";
import { fieldName, type Path } from "./yaml-source.js";

export interface CompileInput {
  /** Roles to apply via top.yaml (their role vars apply), or explicit states. */
  roles: string[];
  states: string[];
  nodeVars: Record<string, unknown>;
  extraVars: Record<string, unknown>;
  facts: Facts;
  controlPlane?: ControlPlane | undefined;
  types?: TypeMap;
  /** Shared with the engine so reads are cached and secrets collected for the whole run. */
  renderer?: Renderer;
}

const VAR_PASSES = 5;

/**
 * Turn the loaded states into the Plan for one node: pick the states, merge vars (state
 * defaults < role vars < node vars < extra vars), expand forEach, evaluate when, render strings,
 * check every field and reference, and order the steps (file order, then require/onChanges).
 * Every problem is collected and thrown as one StateError before anything runs.
 */
export async function compile(set: StateSet, input: CompileInput): Promise<Plan> {
  const types = input.types ?? resourceTypes;
  const errors: StateError[] = [];
  const secrets = new Set<string>();
  const renderer =
    input.renderer ??
    new Renderer({ facts: input.facts, controlPlane: input.controlPlane, secrets });

  const names = selectStates(
    set.top,
    { roles: input.roles, states: input.states },
    "top.yaml",
    errors,
  );
  const states: StateDecl[] = [];
  for (const { name, ref } of names) {
    const s = set.states.get(name);
    if (s === undefined)
      errors.push(
        new StateError(ref, `state "${name}" not found: no ${name}.yaml or ${name}/init.yaml`),
      );
    else states.push(s);
  }
  throwIfAny(errors);

  const roleVars: Record<string, unknown> = {};
  for (const role of input.roles) Object.assign(roleVars, set.top?.roles[role]?.vars ?? {});
  const secretNames = new Set(states.flatMap((s) => s.secretVars));

  const steps: Step[] = [];
  const handlers = new Map<string, Step>();
  const skipped: Plan["skipped"] = [];
  for (const state of states) {
    const scope = await stateVars(state, roleVars, input, renderer, errors);
    for (const name of secretNames) for (const v of secretStrings(scope[name])) secrets.add(v);
    const cx = { renderer, types, errors, skipped };
    for (const [i, decl] of state.resources.entries()) {
      for (const vars of await expand(decl, i, scope, renderer, errors)) {
        const step = await compileStep(decl, state, vars, `resources[${i}]`, cx);
        if (step !== undefined) steps.push(step);
      }
    }
    for (const [i, decl] of state.handlers.entries()) {
      const step = await compileStep(decl, state, scope, `handlers[${i}]`, cx);
      if (step !== undefined) handlers.set(step.id, step);
    }
  }
  throwIfAny(errors);

  resolveRefs(steps, handlers, skipped, errors);
  throwIfAny(errors);
  const ordered = order(steps, errors);
  throwIfAny(errors);
  return { steps: ordered, handlers, secrets: [...secrets], skipped };
}

/** State defaults < role vars < node vars < extra vars; `{{ }}` in var values rendered. */
async function stateVars(
  state: StateDecl,
  roleVars: Record<string, unknown>,
  input: CompileInput,
  renderer: Renderer,
  errors: StateError[],
): Promise<Record<string, unknown>> {
  const scope: Record<string, unknown> = {
    ...state.vars,
    ...roleVars,
    ...input.nodeVars,
    ...input.extraVars,
  };
  // Vars may use other vars (`url: "http://{{ host }}:{{ port }}"`): render until stable.
  let failures = new Map<string, unknown>();
  for (let pass = 0; pass < VAR_PASSES; pass++) {
    let changed = false;
    failures = new Map();
    for (const [k, v] of Object.entries(scope)) {
      if (!hasTemplates(v)) continue;
      try {
        const next = await renderer.value(v, scope);
        if (JSON.stringify(next) !== JSON.stringify(v)) changed = true;
        scope[k] = next;
      } catch (err) {
        failures.set(k, err); // may depend on a var not rendered yet: try again next pass
      }
    }
    if (!changed) break;
  }
  for (const [k, err] of failures) errors.push(failure(err, varSource(state, k), `vars.${k}`));
  return scope;
}

/** forEach: one vars scope per item (`item`; for maps also `key` and `value`). */
async function expand(
  decl: ResourceDecl,
  index: number,
  scope: Record<string, unknown>,
  renderer: Renderer,
  errors: StateError[],
): Promise<Record<string, unknown>[]> {
  if (decl.forEach === undefined) return [scope];
  let over: unknown;
  try {
    over = await renderer.value(decl.forEach, scope);
  } catch (err) {
    errors.push(failure(err, decl.source, `resources[${index}].forEach`));
    return [];
  }
  if (Array.isArray(over)) return over.map((item) => ({ ...scope, item }));
  if (isRecord(over))
    return Object.entries(over).map(([key, value]) => ({
      ...scope,
      key,
      value,
      item: { key, value },
    }));
  errors.push(
    new StateError(
      decl.source,
      `expected a list or a map, got ${over === null ? "null" : typeof over}`,
      `resources[${index}].forEach`,
    ),
  );
  return [];
}

interface StepContext {
  renderer: Renderer;
  types: TypeMap;
  errors: StateError[];
  skipped: Plan["skipped"];
}

async function compileStep(
  decl: ResourceDecl,
  state: StateDecl,
  vars: Record<string, unknown>,
  at: string,
  cx: StepContext,
): Promise<Step | undefined> {
  const before = cx.errors.length;
  const handler = at.startsWith("handlers");
  const render = async <T>(v: T, field: string): Promise<T> => {
    try {
      return (await cx.renderer.value(v, vars)) as T;
    } catch (err) {
      cx.errors.push(failure(err, decl.source, `${at}.${field}`));
      return v;
    }
  };
  const str = async (v: string, field: string): Promise<string> => {
    const out = await render(v, field);
    if (typeof out === "string" || typeof out === "number") return String(out);
    cx.errors.push(
      new StateError(decl.source, `expected a string, got ${typeof out}`, `${at}.${field}`),
    );
    return v;
  };
  const id = await str(decl.id, "id");
  const name = await str(decl.name, decl.type);
  if (decl.when !== undefined) {
    let holds = false;
    try {
      holds = await cx.renderer.test(decl.when, vars);
    } catch (err) {
      cx.errors.push(failure(err, decl.source, `${at}.when`));
    }
    if (cx.errors.length > before) return undefined;
    if (!holds) {
      cx.skipped.push({
        id,
        type: decl.type,
        name,
        state: state.name,
        reason: `when: ${decl.when}`,
      });
      return undefined;
    }
  }
  const list = async (refs: string[], field: string): Promise<string[]> => {
    const out: string[] = [];
    for (const [i, r] of refs.entries()) out.push(await str(r, `${field}[${i}]`));
    return out;
  };
  const require = await list(decl.require, "require");
  const notify = await list(decl.notify, "notify");
  const onChanges = await list(decl.onChanges, "onChanges");
  const rawProps: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(decl.props)) rawProps[k] = await render(v, k);
  if (cx.errors.length > before) return undefined;

  const type = cx.types.get(decl.type)!;
  const problems: StateError[] = [];
  const check = (candidate: Record<string, unknown>): unknown =>
    validateProps(
      type,
      name,
      candidate,
      (path: Path, message) =>
        problems.push(new StateError(decl.source, message, fieldName([at, ...path]))),
      true,
    );
  let props = check(rawProps);
  if (props === undefined) {
    // `content: "{{ port }}"` gives the number 8080; where the type wants a string, use "8080".
    const retry = stringifyRendered(decl.props, rawProps) as Record<string, unknown>;
    const before2 = problems.length;
    props = retry === rawProps ? undefined : check(retry);
    if (props === undefined) problems.splice(before2);
    else problems.length = 0;
  }
  cx.errors.push(...problems);
  if (props === undefined || cx.errors.length > before) return undefined;
  const step: Step = {
    id,
    type: decl.type,
    name,
    props: props as Record<string, unknown>,
    require,
    notify,
    onChanges,
    handler,
    state: state.name,
    source: decl.source,
    vars,
  };
  if (decl.waitFor !== undefined) step.waitFor = decl.waitFor;
  if (decl.runOnce) step.runOnce = true;
  if (decl.secret) step.secret = true;
  return step;
}

/** Numbers and booleans that a whole `{{ expr }}` string rendered to, as strings again. */
function stringifyRendered(raw: unknown, rendered: unknown): unknown {
  if (typeof raw === "string" && isTemplated(raw)) {
    if (typeof rendered === "number" || typeof rendered === "boolean") return String(rendered);
    return rendered;
  }
  if (Array.isArray(raw) && Array.isArray(rendered)) {
    const out = rendered.map((r, i) => stringifyRendered(raw[i], r));
    return out.every((x, i) => x === rendered[i]) ? rendered : out;
  }
  if (isRecord(raw) && isRecord(rendered)) {
    const out: Record<string, unknown> = {};
    let same = true;
    for (const [k, r] of Object.entries(rendered)) {
      out[k] = stringifyRendered(raw[k], r);
      if (out[k] !== r) same = false;
    }
    return same ? rendered : out;
  }
  return rendered;
}

function failure(err: unknown, source: Step["source"], field: string): StateError {
  if (err instanceof StateError) return err;
  if (err instanceof RenderFailure) return new StateError(source, err.message, field);
  throw err;
}
