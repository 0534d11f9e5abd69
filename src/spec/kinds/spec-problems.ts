import { SpecLoadError } from "../errors.js";
import { parseStack } from "../load.js";
import { defaultRegistry } from "./index.js";

/**
 * For the kinds' tests: the problem lines loading `text` as a gantry.yaml in `dir` gives with
 * the default kinds (empty when it loads), without the header line.
 */
export function specProblems(dir: string, text: string): string[] {
  try {
    parseStack(dir, text, defaultRegistry(), { env: {} });
  } catch (err) {
    if (err instanceof SpecLoadError) return err.message.split("\n").slice(1);
    throw err;
  }
  return [];
}
