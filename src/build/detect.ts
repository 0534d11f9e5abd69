import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BuildError } from "./errors.js";
import { parseProcfile } from "./procfile.js";

/** What detection needs to know about a source tree (read by readSourceFacts). */
export interface SourceFacts {
  procfile?: string;
  packageJson?: string;
  lockfile?: "package-lock.json" | "npm-shrinkwrap.json";
}

export interface Detected {
  /** "node" when there is a package.json, else "procfile" (any stack with plain commands). */
  stack: "node" | "procfile";
  processTypes: Record<string, string>;
  typesFrom: "Procfile" | "package.json";
  /** Dependencies to install; absent when there are none (nothing to run, nothing to wait for). */
  install?: { command: "ci" | "install"; dependencies: number };
}

export const NOTHING_TO_RUN =
  "no Procfile and no package.json start script — add a Procfile like `web: node server.js`";

/** Decide how to build and run a source tree. Pure: the facts are read elsewhere. */
export function detect(facts: SourceFacts): Detected {
  const pkg = facts.packageJson === undefined ? undefined : parsePackageJson(facts.packageJson);
  const fromProcfile = facts.procfile === undefined ? undefined : parseProcfile(facts.procfile);
  let processTypes: Record<string, string>;
  if (fromProcfile !== undefined) processTypes = fromProcfile;
  else if (pkg?.start !== undefined) processTypes = { web: "npm start" };
  else throw new BuildError(NOTHING_TO_RUN);
  const detected: Detected = {
    stack: pkg === undefined ? "procfile" : "node",
    processTypes,
    typesFrom: fromProcfile === undefined ? "package.json" : "Procfile",
  };
  if (pkg !== undefined && pkg.dependencies > 0) {
    detected.install = {
      command: facts.lockfile === undefined ? "install" : "ci",
      dependencies: pkg.dependencies,
    };
  }
  return detected;
}

function parsePackageJson(text: string): { start?: string; dependencies: number } {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new BuildError(`package.json is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new BuildError("package.json must hold a JSON object");
  }
  const pkg = data as Record<string, unknown>;
  const scripts = pkg["scripts"];
  let start: string | undefined;
  if (scripts !== undefined) {
    if (typeof scripts !== "object" || scripts === null || Array.isArray(scripts)) {
      throw new BuildError('package.json: "scripts" must be an object');
    }
    const s = (scripts as Record<string, unknown>)["start"];
    if (s !== undefined && typeof s !== "string") {
      throw new BuildError('package.json: "scripts.start" must be a string');
    }
    if (typeof s === "string" && s.trim() !== "") start = s;
  }
  let dependencies = 0;
  for (const field of ["dependencies", "optionalDependencies"]) {
    const deps = pkg[field];
    if (deps === undefined) continue;
    if (typeof deps !== "object" || deps === null || Array.isArray(deps)) {
      throw new BuildError(`package.json: "${field}" must be an object`);
    }
    dependencies += Object.keys(deps).length;
  }
  return start === undefined ? { dependencies } : { start, dependencies };
}

const MAX_PROCFILE = 64 * 1024;
const MAX_PACKAGE_JSON = 4 * 1024 * 1024;

/** Read the files detection looks at from an unpacked source tree. */
export function readSourceFacts(dir: string): SourceFacts {
  const facts: SourceFacts = {};
  const procfile = readSmall(dir, "Procfile", MAX_PROCFILE);
  if (procfile !== undefined) facts.procfile = procfile;
  const pkg = readSmall(dir, "package.json", MAX_PACKAGE_JSON);
  if (pkg !== undefined) facts.packageJson = pkg;
  if (existsSync(join(dir, "npm-shrinkwrap.json"))) facts.lockfile = "npm-shrinkwrap.json";
  else if (existsSync(join(dir, "package-lock.json"))) facts.lockfile = "package-lock.json";
  return facts;
}

function readSmall(dir: string, name: string, limit: number): string | undefined {
  const path = join(dir, name);
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new BuildError(`${name} must be a regular file`);
    size = st.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  if (size > limit) throw new BuildError(`${name} is larger than ${limit} bytes`);
  return readFileSync(path, "utf8");
}
