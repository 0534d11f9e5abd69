import { ResourceFailed } from "../../errors.js";
import { DPKG_QUERY_FORMAT, parseDpkgQuery, type DpkgPackage } from "./dpkg.js";
import { commandFailed, runOk, type RunOptions, type Runner } from "./run.js";

/** apt and dpkg never ask questions, keep changed config files, and wait for a held lock. */
const APT_ENV = { DEBIAN_FRONTEND: "noninteractive", APT_LISTCHANGES_FRONTEND: "none" };
const APT_OPTIONS = [
  "-o",
  "DPkg::Lock::Timeout=120",
  "-o",
  "Dpkg::Options::=--force-confdef",
  "-o",
  "Dpkg::Options::=--force-confold",
];
const APT_TIMEOUT_MS = 30 * 60_000;

/** One dpkg-query for every name; names dpkg has never heard of are simply absent. */
export async function queryPackages(
  runner: Runner,
  names: readonly string[],
  opts: RunOptions,
): Promise<DpkgPackage[]> {
  if (names.length === 0) return [];
  const argv = ["dpkg-query", "-W", "-f", DPKG_QUERY_FORMAT, "--", ...names];
  const r = await runner(argv, { ...opts, env: { ...opts.env, LC_ALL: "C" } });
  // Exit 1 = some names are unknown to dpkg (it says so on stderr): not an error here.
  if (r.code !== 0 && r.code !== 1) throw commandFailed(argv, r, opts.redact);
  return parseDpkgQuery(r.stdout);
}

/** Parse `apt-cache policy NAMES`: package → candidate version (undefined for `(none)`). */
export function parsePolicy(stdout: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  let current: string | undefined;
  for (const line of stdout.split("\n")) {
    const header = /^(\S+):$/.exec(line);
    if (header !== null) current = header[1];
    const candidate = /^ {2}Candidate: (\S+)$/.exec(line);
    if (candidate !== null && current !== undefined)
      out.set(current, candidate[1] === "(none)" ? undefined : candidate[1]);
  }
  return out;
}

/** The versions apt would install now, for `state: latest`: one apt-cache run for every name. */
export async function candidates(
  runner: Runner,
  names: readonly string[],
  opts: RunOptions,
): Promise<(name: string) => string | undefined> {
  if (names.length === 0) return () => undefined;
  const stdout = await runOk(runner, ["apt-cache", "policy", "--", ...names], {
    ...opts,
    env: { ...opts.env, LC_ALL: "C" },
  });
  const policy = parsePolicy(stdout);
  return (name) => policy.get(name) ?? policy.get(name.replace(/:.*$/, ""));
}

/** The Package and Version fields of a .deb file. */
export async function debFields(
  runner: Runner,
  path: string,
  opts: RunOptions,
): Promise<{ name: string; version: string }> {
  const out = await runOk(runner, ["dpkg-deb", "-f", "--", path, "Package", "Version"], opts);
  const field = (f: string): string | undefined =>
    new RegExp(`^${f}: *(.+)$`, "m").exec(out)?.[1]?.trim();
  const name = field("Package");
  const version = field("Version");
  if (name === undefined || version === undefined)
    throw new ResourceFailed(`${path}: dpkg-deb shows no Package and Version`);
  return { name, version };
}

/**
 * What one apt run does: packages to remove, then install arguments (`nginx`, `nginx=1.2-1`,
 * `/srv/debs/app_1.0_all.deb`). Downgrades need saying so.
 */
export interface AptWork {
  remove: string[];
  install: string[];
  downgrade: boolean;
}

/** Remove, then install, with one apt-get command each. */
export async function aptApply(runner: Runner, work: AptWork, opts: RunOptions): Promise<void> {
  const o = { ...opts, env: { ...opts.env, ...APT_ENV }, timeoutMs: APT_TIMEOUT_MS };
  if (work.remove.length > 0)
    await runOk(runner, ["apt-get", "remove", "-y", ...APT_OPTIONS, "--", ...work.remove], o);
  if (work.install.length > 0)
    await runOk(
      runner,
      [
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        ...(work.downgrade ? ["--allow-downgrades"] : []),
        ...APT_OPTIONS,
        "--",
        ...work.install,
      ],
      o,
    );
}

/** apt's `Dir::State` (`/var/lib/apt/`), as the effective configuration says (APT_CONFIG
 * included), with a trailing slash. */
export async function aptStateDir(runner: Runner, opts: RunOptions): Promise<string> {
  const out = await runOk(runner, ["apt-config", "shell", "STATE", "Dir::State/d"], opts);
  const dir = /^STATE='([^']*)'$/m.exec(out)?.[1];
  if (dir === undefined || !dir.startsWith("/"))
    throw new ResourceFailed("apt-config does not say where apt keeps its state");
  return dir.endsWith("/") ? dir : `${dir}/`;
}

/** `apt-get update`: refresh the package index from every source. */
export async function aptUpdate(runner: Runner, opts: RunOptions): Promise<void> {
  const o = { ...opts, env: { ...opts.env, ...APT_ENV }, timeoutMs: APT_TIMEOUT_MS };
  await runOk(runner, ["apt-get", "update", "-q", ...APT_OPTIONS], o);
}
