import * as yaml from "yaml";
import { fieldName, YamlDoc, type Path } from "../text/yaml-doc.js";
import { StateError } from "./errors.js";
import type { SourceRef } from "./types.js";

export { fieldName, type Path };

/**
 * One YAML file of the states dir, parsed so that every error can name its line (the parsing
 * and the lazy positions are src/text/yaml-doc.ts): the value as plain data, the syntax errors
 * as StateErrors, and `ref(path)` for where a path (or its nearest parent) is written.
 */
export class YamlSource {
  readonly value: unknown;
  readonly errors: StateError[];
  private readonly doc: YamlDoc;

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = new YamlDoc(file, text, () => yaml);
    this.value = this.doc.value;
    this.errors = this.doc.problems.map((p) => new StateError({ file, line: p.line }, p.message));
  }

  /**
   * Where `path` is written; the nearest parent that exists when it is not (a missing field).
   * The line is found when first read: resources carry their ref, and most are never read.
   */
  ref(path: Path): SourceRef {
    let line: number | undefined;
    const find = (): number => (line ??= this.doc.lineOf(path));
    return {
      file: this.file,
      get line() {
        return find();
      },
    };
  }

  /** A StateError at `path`, naming the field. */
  error(path: Path, message: string): StateError {
    return new StateError(this.ref(path), message, path.length === 0 ? undefined : fieldName(path));
  }
}
