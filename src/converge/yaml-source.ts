import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from "yaml";
import { StateError } from "./errors.js";
import type { SourceRef } from "./types.js";

export type Path = readonly (string | number)[];

/** `resources[2].mode` for ["resources", 2, "mode"]. */
export function fieldName(path: Path): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? p : `.${p}`;
  return out;
}

/**
 * One YAML file of the states dir, parsed with positions, so every error can name its line:
 * the value as plain data plus `ref(path)` for where a path (or its nearest parent) is written.
 */
export class YamlSource {
  readonly value: unknown;
  readonly errors: StateError[] = [];
  private readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false });
    for (const e of this.doc.errors) {
      const line = this.lines.linePos(e.pos[0]).line;
      this.errors.push(new StateError({ file, line }, `invalid YAML: ${firstLine(e.message)}`));
    }
    this.value = this.errors.length === 0 ? this.doc.toJS({ maxAliasCount: 1000 }) : undefined;
  }

  /** Where `path` is written; the nearest parent that exists when it is not (a missing field). */
  ref(path: Path): SourceRef {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n), true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range !== undefined) {
        // A value's line, except for maps and block strings: there the key's line reads better.
        const keyLine = n > 0 ? this.keyLine(path.slice(0, n - 1), path[n - 1]!) : undefined;
        return { file: this.file, line: keyLine ?? this.lines.linePos(range[0]).line };
      }
    }
    return { file: this.file, line: 1 };
  }

  /** The line of key `key` in the map at `parent`. */
  private keyLine(parent: Path, key: string | number): number | undefined {
    if (typeof key !== "string") return undefined;
    const node = parent.length === 0 ? this.doc.contents : this.doc.getIn(parent, true);
    if (!isMap(node)) return undefined;
    for (const item of node.items) {
      if (!isPair(item) || !isScalar(item.key) || item.key.value !== key) continue;
      const range = item.key.range;
      return range === undefined || range === null ? undefined : this.lines.linePos(range[0]).line;
    }
    return undefined;
  }

  /** A StateError at `path`, naming the field. */
  error(path: Path, message: string): StateError {
    return new StateError(this.ref(path), message, path.length === 0 ? undefined : fieldName(path));
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}
