import { existsSync } from "node:fs";
import * as z from "zod";
import { ResourceFailed } from "../errors.js";
import type { Inspection, ResourceContext, ResourceType } from "../types.js";
import { aptApply, candidates, debFields, queryPackages, type AptWork } from "./system/apt.js";
import { compareVersions, installedVersion, PACKAGE_NAME, PACKAGE_VERSION } from "./system/dpkg.js";
import { run, type RunOptions, type Runner } from "./system/run.js";

const fields = z.strictObject({
  /** `latest`: the version apt would install now (upgraded when the repository moves on). */
  state: z.enum(["installed", "latest", "absent"]).default("installed"),
  /** Install exactly this version (`1.2-1`): upgrading or downgrading to it. */
  version: z.string().regex(PACKAGE_VERSION, "is not a Debian version").optional(),
  /** A .deb file on the host to install the package from (apt resolves its dependencies). */
  deb: z
    .string()
    .regex(/^\/.*\.deb$/, "must be an absolute path to a .deb file")
    .optional(),
});

export type PackageProps = z.infer<typeof fields>;

/** What one resource needs done: remove NAME, or install an apt argument. */
type Op = { remove: string } | { install: string; downgrade: boolean };

interface Planned {
  changes: string[];
  op?: Op;
}

/**
 * The package type with its commands run by `runner` (tests count them). Adjacent package
 * resources are inspected with one dpkg-query, and the first apply installs and removes the
 * whole batch with one apt-get each; the later applies find their work done.
 */
export function createPackageType(runner: Runner = run): ResourceType<PackageProps> {
  const inspectBatch = async (
    items: { name: string; props: PackageProps }[],
    ctx: ResourceContext,
  ): Promise<Inspection[]> => {
    const opts: RunOptions = { signal: ctx.signal, redact: ctx.redact };
    for (const { name } of items)
      if (!PACKAGE_NAME.test(name))
        throw new ResourceFailed(`${JSON.stringify(name)} is not a valid package name`);
    const debs = await Promise.all(
      items.map(({ props }) => (props.deb === undefined ? undefined : readDeb(props.deb))),
    );
    const installed = await queryPackages(runner, [...new Set(items.map((i) => i.name))], opts);
    const latest = items.filter((i) => i.props.state === "latest").map((i) => i.name);
    const candidate = await candidates(runner, [...new Set(latest)], opts);
    const plans = items.map(({ name, props }, i) =>
      plan(name, props, installedVersion(installed, name), debs[i], candidate(name)),
    );

    let batch: Promise<void> | undefined;
    const ops = plans.flatMap((p) => (p.op === undefined ? [] : [p.op]));
    return plans.map((p) => ({
      changes: p.changes,
      async apply() {
        if (p.op === undefined) return;
        const applyOpts: RunOptions = { ...opts, onLine: (l) => ctx.log(l) };
        try {
          batch ??= aptApply(runner, work(ops), applyOpts);
          await batch;
        } catch (err) {
          if (ops.length === 1) throw err;
          // The batch failed as a whole: do this resource alone, so the failure (if it is this
          // one's) lands on it. apt's install and remove are idempotent, so a retry is safe.
          await aptApply(runner, work([p.op]), applyOpts);
        }
      },
    }));

    async function readDeb(path: string): Promise<{ name: string; version: string } | undefined> {
      if (existsSync(path)) return debFields(runner, path, opts);
      // In check mode an earlier resource may be the one that would put it there.
      if (ctx.check) return undefined;
      throw new ResourceFailed(`deb ${path} does not exist`);
    }
  };

  return {
    type: "package",
    fields,
    validate(name, props) {
      if (!name.includes("{{") && !PACKAGE_NAME.test(name))
        return { field: "package", message: `${JSON.stringify(name)} is not a valid package name` };
      if (props.state !== "installed") {
        const extra = (["version", "deb"] as const).find((f) => props[f] !== undefined);
        if (extra !== undefined) return { field: extra, message: "only with state: installed" };
      }
      return undefined;
    },
    async inspect(name, props, ctx) {
      const [inspection] = await inspectBatch([{ name, props }], ctx);
      return inspection!;
    },
    inspectBatch,
  };
}

/** `package: NAME`: a Debian package installed (at a version, or from a .deb) or absent. */
export const packageType = createPackageType();

/** The changes for one package given what dpkg says; pure. */
export function plan(
  name: string,
  props: PackageProps,
  current: string | undefined,
  deb: { name: string; version: string } | undefined,
  candidate?: string,
): Planned {
  if (props.state === "absent")
    return current === undefined ? { changes: [] } : { changes: ["remove"], op: { remove: name } };
  if (props.state === "latest") {
    if (candidate === undefined)
      throw new ResourceFailed(`apt has no installation candidate for ${name} (apt-get update?)`);
    if (current !== undefined && compareVersions(candidate, current) <= 0) return { changes: [] };
    const op = { install: `${name}=${candidate}`, downgrade: false };
    return current === undefined
      ? { changes: [`install ${candidate}`], op }
      : { changes: [`upgrade ${current} → ${candidate}`], op };
  }
  if (props.deb !== undefined && deb === undefined)
    // Check mode, the file is not there yet: what would be installed is unknown.
    return { changes: [`install from ${props.deb}`], op: { install: props.deb, downgrade: false } };
  if (deb !== undefined && deb.name !== name.replace(/:.*$/, ""))
    throw new ResourceFailed(`deb ${props.deb} holds package ${deb.name}, not ${name}`);
  if (deb !== undefined && props.version !== undefined && props.version !== deb.version)
    throw new ResourceFailed(`deb ${props.deb} holds version ${deb.version}, not ${props.version}`);
  const want = deb?.version ?? props.version;
  const arg = props.deb ?? (want === undefined ? name : `${name}=${want}`);
  if (current === undefined)
    return {
      changes: [want === undefined ? "install" : `install ${want}`],
      op: { install: arg, downgrade: false },
    };
  if (want === undefined || want === current) return { changes: [] };
  const down = compareVersions(want, current) < 0;
  return {
    changes: [`${down ? "downgrade" : "upgrade"} ${current} → ${want}`],
    op: { install: arg, downgrade: down },
  };
}

function work(ops: Op[]): AptWork {
  const w: AptWork = { remove: [], install: [], downgrade: false };
  for (const op of ops) {
    if ("remove" in op) w.remove.push(op.remove);
    else {
      w.install.push(op.install);
      w.downgrade ||= op.downgrade;
    }
  }
  return w;
}
