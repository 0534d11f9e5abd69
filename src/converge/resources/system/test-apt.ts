import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runner } from "./run.js";

/** A tiny real .deb in `dir`: one file, /usr/share/NAME/version, holding the version. */
export function buildDeb(dir: string, name: string, version: string): string {
  const root = join(dir, `${name}_${version}`);
  mkdirSync(join(root, "DEBIAN"), { recursive: true });
  mkdirSync(join(root, "usr/share", name), { recursive: true });
  writeFileSync(
    join(root, "DEBIAN/control"),
    `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: Gantry Tests <tests@example.invalid>\nDescription: Gantry converge test package\n`,
  );
  writeFileSync(join(root, "usr/share", name, "version"), `${version}\n`);
  const deb = `${root}.deb`;
  execFileSync("dpkg-deb", ["--build", "--root-owner-group", root, deb], { stdio: "ignore" });
  return deb;
}

export interface PrivateApt {
  /** APT_CONFIG pointing at it: pass to apt (and to the runner of the type under test). */
  env: Record<string, string>;
  /** apt's Dir::State of this configuration (the update stamp lives under it). */
  stateDir: string;
  /** Put .debs into the repository and rewrite its index (apt sees them after an update). */
  add(debs: string[]): void;
  /** `apt-get update` with this configuration. */
  update(): void;
  /** `runner` with APT_CONFIG set for every command. */
  runner(runner: Runner): Runner;
}

/**
 * A private apt repository in `dir` through APT_CONFIG: its own sources, lists, state and cache,
 * so nothing in /etc/apt or /var/lib/apt changes (dpkg, what is installed, is the real one). apt
 * is also much faster with one small repository than with Debian's lists. Not updated yet.
 */
export function privateApt(dir: string): PrivateApt {
  const repo = join(dir, "repo");
  const apt = join(dir, "apt");
  mkdirSync(repo, { recursive: true });
  for (const d of ["lists/partial", "cache/archives/partial", "parts", "state"])
    mkdirSync(join(apt, d), { recursive: true });
  writeFileSync(join(repo, "Packages"), "");
  writeFileSync(join(apt, "sources.list"), `deb [trusted=yes] file:${repo} ./\n`);
  writeFileSync(
    join(apt, "apt.conf"),
    [
      `Dir::Etc::SourceList "${apt}/sources.list";`,
      `Dir::Etc::SourceParts "${apt}/parts";`,
      `Dir::State "${apt}/state";`,
      `Dir::State::Lists "${apt}/lists";`,
      `Dir::Cache "${apt}/cache";`,
      "",
    ].join("\n"),
  );
  const env = { APT_CONFIG: join(apt, "apt.conf") };
  return {
    env,
    stateDir: join(apt, "state"),
    add(debs) {
      for (const deb of debs) execFileSync("cp", [deb, repo]);
      const packages = execFileSync("dpkg-scanpackages", ["--multiversion", "."], {
        cwd: repo,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      writeFileSync(join(repo, "Packages"), packages);
    },
    update() {
      execFileSync("apt-get", ["update", "-qq"], {
        env: { ...process.env, ...env },
        stdio: "ignore",
      });
    },
    runner: (inner) => (argv, opts) => inner(argv, { ...opts, env: { ...opts?.env, ...env } }),
  };
}
