import type { Command } from "commander";
import type { Output } from "./output.js";

/** `gantry converge status`: the last agent runs per node (filled in with the agent transport). */
export function registerConvergeStatus(_converge: Command, _o: Output): void {}
