import { ValidationError } from "../errors.js";
import type { Kind } from "./kind.js";

/** Top-level sections of gantry.yaml that belong to the engine, not to a kind. */
export const ENGINE_SECTIONS = ["stack", "vars"] as const;

/**
 * The kinds a stack may hold, by name and by section (docs/stack.md, "Writing a kind"). The
 * engine only ever looks kinds up here: nothing about a particular kind is written in it.
 */
export class KindRegistry {
  private readonly byName = new Map<string, Kind>();
  private readonly bySection = new Map<string, Kind>();
  private readonly byPrefixSection = new Map<string, Kind>();
  private readonly byTopLevel = new Map<string, Kind>();

  constructor(kinds: readonly Kind[] = []) {
    for (const k of kinds) this.register(k);
  }

  /** Add a kind; its name and sections must be new. */
  register(kind: Kind): this {
    const sections = [
      kind.section,
      ...(kind.prefixSection === undefined ? [] : [kind.prefixSection]),
      ...(kind.topLevel ?? []),
    ];
    if (this.byName.has(kind.name))
      throw new ValidationError(`a kind named "${kind.name}" is already registered`, "kind");
    for (const s of sections)
      if (this.isSection(s) || (ENGINE_SECTIONS as readonly string[]).includes(s))
        throw new ValidationError(`the section "${s}" is already taken`, "section");
    this.byName.set(kind.name, kind);
    this.bySection.set(kind.section, kind);
    if (kind.prefixSection !== undefined) this.byPrefixSection.set(kind.prefixSection, kind);
    for (const key of kind.topLevel ?? []) this.byTopLevel.set(key, kind);
    return this;
  }

  get(name: string): Kind | undefined {
    return this.byName.get(name);
  }

  /** The kind whose items a section holds. */
  forSection(section: string): Kind | undefined {
    return this.bySection.get(section);
  }

  /** The kind whose owned prefixes a section lists (`kvPrefixes` → kv). */
  forPrefixSection(section: string): Kind | undefined {
    return this.byPrefixSection.get(section);
  }

  /** The kind one of whose items a top-level key is (`states` → converge). */
  forTopLevel(key: string): Kind | undefined {
    return this.byTopLevel.get(key);
  }

  isSection(section: string): boolean {
    return (
      this.bySection.has(section) ||
      this.byPrefixSection.has(section) ||
      this.byTopLevel.has(section)
    );
  }

  /** Every top-level section a gantry.yaml may have. */
  sections(): string[] {
    return [
      ...ENGINE_SECTIONS,
      ...this.bySection.keys(),
      ...this.byPrefixSection.keys(),
      ...this.byTopLevel.keys(),
    ];
  }

  all(): Kind[] {
    return [...this.byName.values()];
  }
}
