import nunjucks from "nunjucks";
import { compileTemplate, TemplateError } from "../template/render.js";
import { didYouMean } from "../text/suggest.js";
import type { ControlPlane, Facts } from "./types.js";

/** True when a string holds nunjucks syntax (`{{ }}`, `{% %}`) and must be rendered. */
export function isTemplated(s: string): boolean {
  return s.includes("{{") || s.includes("{%");
}

/**
 * Compile a template to find syntax errors before anything runs. Returns the problem (for a
 * file: `templates/x.j2:3: message`; inline: `template error: message`), or undefined.
 */
export function checkTemplate(text: string, file?: string): string | undefined {
  if (file === undefined && simplePaths(text) !== undefined) return undefined;
  try {
    compiled(text, file ?? "inline");
    return undefined;
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    if (file !== undefined) return err.message;
    const line = text.includes("\n") && err.line !== undefined ? ` (line ${err.line})` : "";
    return `template error: ${err.message.replace(/^inline(:\d+)?: /, "")}${line}`;
  }
}

/** A render that failed: `line` is 1-based within the template when nunjucks knows it. */
export class RenderFailure extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
  ) {
    super(message);
  }
}

// `{{ port }}`, `{{ facts.distribution.id }}`, `{{ users[0] }}`: most strings in states are
// only such lookups. They are resolved here without nunjucks, whose compile (to a JS function)
// costs milliseconds per distinct string — most of a no-op run of 200 resources otherwise.
const EXPR = /\{\{((?:(?!\{\{|\}\})[\s\S])*?)\}\}/g;
const PATH = /^\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*)\s*$/;

/** The lookups of a string that holds nothing but `{{ path }}`s, or undefined. */
function simplePaths(text: string): string[] | undefined {
  if (text.includes("{%") || text.includes("{#")) return undefined;
  const paths: string[] = [];
  for (const m of text.matchAll(EXPR)) {
    const p = PATH.exec(m[1]!);
    if (p === null) return undefined;
    paths.push(p[1]!);
  }
  // A `{{` left without its `}}` (`{{ item }</h1>`) is a syntax error: nunjucks must say so.
  if (text.replace(EXPR, "").includes("{{")) return undefined;
  return paths;
}

function lookup(path: string, scope: Record<string, unknown>): unknown {
  let v: unknown = scope;
  for (const seg of path.split(/\.|\[|\]/)) {
    if (seg === "") continue;
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

/** ` — did you mean "port"?` when the var an expression starts with is not set but one close is. */
function misspelt(expr: string, vars: Record<string, unknown>): string {
  const name = /^\s*([A-Za-z_]\w*)/.exec(expr)?.[1];
  if (name === undefined || name === "facts" || name in vars) return "";
  return didYouMean(name, Object.keys(vars));
}

// `{{ expr }}` alone: the value keeps its type (a list stays a list for forEach).
const WHOLE = /^\{\{-?((?:(?!\{\{|\}\})[\s\S])*?)-?\}\}$/;
const MAX_PASSES = 10;

// As src/template/render.ts (config files: no autoescape, block tags leave no trace), but an
// undefined var is an error when output (`{{ prot }}`), like Ansible: an empty port is a bug.
const env = new nunjucks.Environment([], {
  autoescape: false,
  dev: true,
  trimBlocks: true,
  lstripBlocks: true,
  throwOnUndefined: true,
});

/**
 * Compiled templates by file and text, shared by the loader's check and the renders of the run
 * that follows: compiling (to a JS function) is most of what a template costs, so each distinct
 * template is compiled once per process. Bounded for long-lived agents.
 */
const templates = new Map<string, nunjucks.Template>();
const MAX_TEMPLATES = 5000;

/** Compile (or find) a template; throws TemplateError naming file and line. */
function compiled(text: string, file: string): nunjucks.Template {
  const id = `${file}\0${text}`;
  let tpl = templates.get(id);
  if (tpl === undefined) {
    tpl = compileTemplate(text, file, env).template;
    if (templates.size >= MAX_TEMPLATES) templates.clear();
    templates.set(id, tpl);
  }
  return tpl;
}

export interface RendererOptions {
  facts: Facts;
  controlPlane?: ControlPlane | undefined;
  /** Values read with `secret()` are added here (the run's redaction list). */
  secrets: Set<string>;
}

type Loads = Map<string, () => Promise<unknown>>;

/**
 * Renders state strings and templates with vars, `facts`, and the control plane's `key`,
 * `service` and `secret` functions. nunjucks is synchronous and the control plane is not, so as
 * in src/template/render.ts a render that reads something not loaded yet gets a placeholder and
 * the reads are loaded and the render repeated until nothing is pending. Reads are cached for
 * the run: each key is fetched once.
 */
export class Renderer {
  private readonly loaded = new Map<string, unknown>();

  constructor(private readonly opts: RendererOptions) {}

  /** Render every string in a value (deeply); a string that is one `{{ expr }}` keeps its type. */
  async value(v: unknown, vars: Record<string, unknown>): Promise<unknown> {
    if (typeof v === "string") {
      if (!isTemplated(v)) return v;
      const whole = WHOLE.exec(v);
      if (whole !== null) {
        const path = PATH.exec(whole[1]!)?.[1];
        if (path === undefined) return this.evaluate(whole[1]!, vars);
        const found = lookup(path, { facts: this.opts.facts, ...vars });
        if (found === undefined)
          throw new RenderFailure(`${path} is undefined${misspelt(path, vars)}`, undefined);
        return found;
      }
      return this.text(v, vars);
    }
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (const x of v) out.push(await this.value(x, vars));
      return out;
    }
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = await this.value(x, vars);
      return out;
    }
    return v;
  }

  /** Render a template to text. Throws RenderFailure. */
  async text(text: string, vars: Record<string, unknown>, file = "inline"): Promise<string> {
    if (file === "inline" && simplePaths(text) !== undefined) return this.substitute(text, vars);
    const tpl = this.compile(text, file);
    try {
      return await this.run((fns) => tpl.render({ ...fns, facts: this.opts.facts, ...vars }));
    } catch (err) {
      throw (await this.nameUndefined(err, text, vars)) ?? err;
    }
  }

  /** `{{ path }}`s replaced by their values, as nunjucks prints them. */
  private substitute(text: string, vars: Record<string, unknown>): string {
    const scope = { facts: this.opts.facts, ...vars };
    return text.replace(EXPR, (_all, inner: string, offset: number) => {
      const path = PATH.exec(inner)![1]!;
      const v = lookup(path, scope);
      if (v === undefined || v === null) {
        const line = text.slice(0, offset).split("\n").length;
        throw new RenderFailure(`${path} is undefined (or null)${misspelt(path, vars)}`, line);
      }
      return String(v);
    });
  }

  /** nunjucks says "attempted to output null or undefined value": find which `{{ }}` it was. */
  private async nameUndefined(
    err: unknown,
    text: string,
    vars: Record<string, unknown>,
  ): Promise<RenderFailure | undefined> {
    if (!(err instanceof RenderFailure) || !err.message.includes("null or undefined")) return;
    for (const m of text.matchAll(/\{\{-?((?:(?!\}\})[\s\S])*?)-?\}\}/g)) {
      const alone = this.compile(`{{${m[1]!}}}`, "inline");
      try {
        await this.run((fns) => alone.render({ ...fns, facts: this.opts.facts, ...vars }));
      } catch {
        const line = text.slice(0, m.index).split("\n").length;
        const expr = m[1]!.trim();
        return new RenderFailure(`${expr} is undefined (or null)${misspelt(expr, vars)}`, line);
      }
    }
    return undefined;
  }

  /** The value of one expression (`users`, `port + 1`, `facts.cpus > 2`). */
  async evaluate(expr: string, vars: Record<string, unknown>): Promise<unknown> {
    let captured: unknown;
    const capture = (x: unknown): string => {
      captured = x;
      return "";
    };
    const tpl = this.compile(`{% set __v = ${expr} %}{{ __capture(__v) }}`, "inline");
    await this.run((fns) =>
      tpl.render({ ...fns, facts: this.opts.facts, ...vars, __capture: capture }),
    );
    if (captured === undefined) throw new RenderFailure(`${expr.trim()} is undefined`, undefined);
    return captured;
  }

  /** A `when:` expression, with Jinja's truthiness (empty lists, maps and strings are false). */
  async test(expr: string, vars: Record<string, unknown>): Promise<boolean> {
    const inner = WHOLE.exec(expr)?.[1] ?? expr;
    try {
      return truthy(await this.evaluate(inner, vars));
    } catch (err) {
      // An undefined var is false: `when: backup_host` where no node sets one.
      if (err instanceof RenderFailure && err.message.endsWith(" is undefined")) return false;
      throw err;
    }
  }

  private compile(text: string, file: string): nunjucks.Template {
    try {
      return compiled(text, file);
    } catch (err) {
      if (err instanceof TemplateError)
        throw new RenderFailure(err.message.replace(/^[^:\n]*(:\d+)?: /, ""), err.line);
      throw err;
    }
  }

  private async run<T>(render: (fns: Record<string, unknown>) => T): Promise<T> {
    for (let pass = 1; ; pass++) {
      const loads: Loads = new Map();
      let result: T | undefined;
      let error: unknown;
      try {
        result = render(this.functions(loads));
      } catch (err) {
        error = err;
      }
      if (loads.size === 0 || pass >= MAX_PASSES) {
        if (error !== undefined) throw toFailure(error);
        return result as T;
      }
      await Promise.all([...loads].map(async ([id, load]) => this.loaded.set(id, await load())));
    }
  }

  private functions(loads: Loads): Record<string, unknown> {
    const cp = this.opts.controlPlane;
    const need = (fn: string): ControlPlane => {
      if (cp === undefined)
        throw new Error(
          `${fn}() needs the control plane: run by an agent (or give the value as a var)`,
        );
      return cp;
    };
    const read = <T>(id: string, load: () => Promise<T>, placeholder: T): T => {
      if (this.loaded.has(id)) return this.loaded.get(id) as T;
      // An empty name while reads are pending is a placeholder (`service(key("name"))`): wait.
      if (id.endsWith(":") && loads.size > 0) return placeholder;
      loads.set(id, load);
      return placeholder;
    };
    return {
      key: (k: unknown, fallback?: unknown): unknown => {
        const c = need("key");
        const name = String(k);
        const v = read(`key:${name}`, () => c.key(name), undefined as string | undefined);
        if (v !== undefined) return v;
        if (fallback !== undefined) return fallback;
        if (!this.loaded.has(`key:${name}`)) return "";
        throw new Error(`key "${name}" does not exist (a default: key("${name}", "…"))`);
      },
      service: (n: unknown) => {
        const c = need("service");
        const name = String(n);
        return read(`service:${name}`, () => c.service(name), []);
      },
      secret: (app: unknown, n: unknown): string => {
        const c = need("secret");
        const id = `secret:${String(app)}/${String(n)}`;
        const v = read(id, () => c.secret(String(app), String(n)), undefined as string | undefined);
        if (v !== undefined) {
          if (v !== "") this.opts.secrets.add(v);
          return v;
        }
        if (!this.loaded.has(id)) return "";
        throw new Error(`secret "${String(n)}" of app "${String(app)}" does not exist`);
      },
    };
  }
}

/** Jinja's truthiness: empty lists, maps and strings, 0, null and undefined are false. */
export function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
  return Boolean(v);
}

/** nunjucks' "(file) [Line 3, Column 5]\n  Error: …" as a clean message and a 1-based line. */
function toFailure(err: unknown): RenderFailure {
  if (err instanceof RenderFailure) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const m = /\[Line (\d+)/.exec(raw);
  // Render errors count lines from 0.
  const line = m === null ? undefined : Number(m[1]) + 1;
  let message = raw;
  for (;;) {
    const next = message
      .replace(/^\([^\n]*?\)(?: \[Line \d+(?:, Column \d+)?\])?\n\s*/, "")
      .replace(/^(?:Template render error|Error): /, "");
    if (next === message) break;
    message = next;
  }
  return new RenderFailure(message.trim(), line);
}
