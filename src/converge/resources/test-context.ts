import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import nunjucks from "nunjucks";
import { StateError } from "../errors.js";
import type { Facts, Inspection, ResourceContext, ResourceType } from "../types.js";

/** Facts for tests: a plain Debian box. */
export const testFacts: Facts = {
  os: "linux",
  distribution: { id: "debian", version: "12", codename: "bookworm" },
  arch: "x64",
  cpus: 2,
  memoryMb: 2048,
  hostname: "test-host",
  addresses: ["10.0.0.5", "127.0.0.1"],
  init: "sysv",
  roles: ["web"],
  labels: {},
};

export interface TestContextOptions {
  check?: boolean;
  vars?: Record<string, unknown>;
  /** The states dir: relative path → content, for `source:` fields. */
  files?: Record<string, string>;
  /** Values redact() replaces with `[secret]`. */
  secrets?: string[];
  facts?: Partial<Facts>;
}

/** A ResourceContext for resource type tests; `logs` collects what ctx.log was given. */
export function testContext(opts: TestContextOptions = {}): ResourceContext & { logs: string[] } {
  const files = opts.files ?? {};
  const facts = { ...testFacts, ...opts.facts };
  const vars = opts.vars ?? {};
  const secrets = (opts.secrets ?? []).filter((s) => s !== "");
  const env = new nunjucks.Environment([], {
    autoescape: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  const logs: string[] = [];
  return {
    check: opts.check ?? false,
    facts,
    vars,
    logs,
    source(path: string): string {
      const text = files[path];
      if (text === undefined)
        throw new StateError(undefined, `${path} does not exist in the states dir`, "source");
      return text;
    },
    async render(template: string, _file: string): Promise<string> {
      return env.renderString(template, { ...vars, facts });
    },
    redact(s: string): string {
      return secrets.reduce((out, secret) => out.split(secret).join("[secret]"), s);
    },
    log(line: string): void {
      logs.push(line);
    },
    signal: new AbortController().signal,
    controlPlane: undefined,
  };
}

/**
 * Everything observable about a tree, for "inspect changed nothing" assertions: per path its
 * type, mode, owner, group, mtime, ctime, inode and a hash of the content or the link target.
 */
export function snapshotTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string, rel: string): void => {
    const st = lstatSync(path, { bigint: true });
    const what = st.isSymbolicLink()
      ? `-> ${readlinkSync(path)}`
      : st.isFile()
        ? createHash("sha256").update(readFileSync(path)).digest("hex")
        : "";
    out[rel] = [st.mode, st.uid, st.gid, st.ino, st.mtimeNs, st.ctimeNs, what].join(" ");
    if (st.isDirectory())
      for (const name of readdirSync(path).sort()) walk(join(path, name), `${rel}/${name}`);
  };
  walk(root, ".");
  return out;
}

/**
 * One resource through a type as the engine runs it: schema, validate, inspect, then apply
 * unless in check mode. Returns the inspection (its changes are what apply made).
 */
export async function converge<P>(
  type: ResourceType<P>,
  name: string,
  props: unknown,
  ctx: ResourceContext = testContext(),
): Promise<Inspection> {
  const parsed = type.fields.parse(props);
  const problem = type.validate?.(name, parsed);
  if (problem !== undefined) throw new Error(`${problem.field}: ${problem.message}`);
  const inspection = await type.inspect(name, parsed, ctx);
  if (!ctx.check) await inspection.apply();
  return inspection;
}
