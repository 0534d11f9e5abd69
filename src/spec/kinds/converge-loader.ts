/**
 * The parts of the converge loader the `converge:` and `roles:` kinds need (states, top files,
 * YAML output). With their modules — templates (nunjucks), the `yaml` package — they cost a
 * CLI start 150–220 ms, so they are loaded only for a stack that has those sections
 * (Kind.preload) or when a plan meets such an item anyway (an orphaned role): every entry
 * point of those kinds that needs them awaits `loadConverge()` first.
 */
export type ConvergeLoader = typeof import("./converge-loader-parts.js");

let loaded: ConvergeLoader | undefined;

/** Load the converge loader (once). */
export async function loadConverge(): Promise<ConvergeLoader> {
  return (loaded ??= await import("./converge-loader-parts.js"));
}

/** The converge loader, once `loadConverge()` has resolved. */
export function convergeLoader(): ConvergeLoader {
  if (loaded === undefined)
    throw new Error("the converge loader is not loaded yet: await loadConverge() (Kind.preload)");
  return loaded;
}
