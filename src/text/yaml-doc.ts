import jsYaml from "js-yaml";
import type { Document, LineCounter } from "yaml";

/**
 * The `yaml` package, asked for only when a position or the full parser is needed. Callers
 * decide how it is loaded: converge imports it statically (its SSH runner is one esbuild bundle),
 * the stack loader requires it on first use (it is a large module to compile at every CLI start,
 * and a spec that loads cleanly never needs it).
 */
export type YamlLib = () => typeof import("yaml");

export type Path = readonly (string | number)[];

/** `resources[2].mode` for ["resources", 2, "mode"]. */
export function fieldName(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out;
}

/** A YAML syntax problem and the line it is on. */
export interface YamlProblem {
  line: number;
  message: string;
}

/**
 * Text the fast parser may read differently from the `yaml` package (YAML 1.2 core schema):
 * anchors and aliases (whose expansion `yaml` bounds), merge keys, tags, js-yaml's `0b` ints.
 */
const NEEDS_FULL_PARSER = /[&*!]|<<|\b0b[01]/;

/**
 * One YAML file parsed so that every error can name its line: the value as plain data plus
 * `lineOf(path)` for where a path (or its nearest parent) is written. Shared by the converge
 * states loader and the stack loader.
 *
 * Two parsers, for speed: js-yaml (core schema) reads the value ~10× faster than the `yaml`
 * package, whose document keeps every node's position. A file that has no error never needs a
 * position, so the positioned document is parsed only when a line is first asked for (and
 * always for text js-yaml refuses or may read differently, so errors and values are `yaml`'s).
 */
export class YamlDoc {
  readonly value: unknown;
  readonly problems: YamlProblem[] = [];
  private positioned: { doc: Document; lines: LineCounter } | undefined;

  constructor(
    readonly file: string,
    private readonly text: string,
    private readonly yaml: YamlLib,
  ) {
    if (!NEEDS_FULL_PARSER.test(text)) {
      try {
        this.value = jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA, filename: file }) ?? null;
        return;
      } catch {
        // Invalid YAML, or a construct only the full parser takes: it gives the error and line.
      }
    }
    const { doc, lines } = this.full();
    for (const e of doc.errors) {
      const line = lines.linePos(e.pos[0]).line;
      this.problems.push({ line, message: `invalid YAML: ${firstLine(e.message)}` });
    }
    this.value = this.problems.length === 0 ? doc.toJS({ maxAliasCount: 1000 }) : undefined;
  }

  private full(): { doc: Document; lines: LineCounter } {
    if (this.positioned === undefined) {
      const { LineCounter, parseDocument } = this.yaml();
      const lines = new LineCounter();
      const doc = parseDocument(this.text, { lineCounter: lines, prettyErrors: false });
      this.positioned = { doc, lines };
    }
    return this.positioned;
  }

  /** The line where `path` is written; the nearest parent that exists when it is not. */
  lineOf(path: Path): number {
    const { doc, lines } = this.full();
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range !== undefined) {
        // A value's line, except for maps and block strings: there the key's line reads better.
        const keyLine = n > 0 ? this.keyLine(path.slice(0, n - 1), path[n - 1]!) : undefined;
        return keyLine ?? lines.linePos(range[0]).line;
      }
    }
    return 1;
  }

  /** The line of key `key` in the map at `parent`. */
  private keyLine(parent: Path, key: string | number): number | undefined {
    if (typeof key !== "string") return undefined;
    const { doc, lines } = this.full();
    const node = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
    const { isMap, isPair, isScalar } = this.yaml();
    if (!isMap(node)) return undefined;
    for (const item of node.items) {
      if (!isPair(item) || !isScalar(item.key) || item.key.value !== key) continue;
      const range = item.key.range;
      return range === undefined || range === null ? undefined : lines.linePos(range[0]).line;
    }
    return undefined;
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
