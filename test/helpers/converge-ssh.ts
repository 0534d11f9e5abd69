/**
 * Real sshd hosts on loopback for the converge-ssh test files (test/helpers/sshd.ts): four hosts,
 * each with its own HOME so each caches its own runner; host 4's PATH has no node. Also the
 * runner bundle and an Output that collects what a command prints.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Output } from "../../src/output/output.js";
import { inventorySshSection, startSshHosts, type SshHosts } from "./sshd.js";

// Live bindings: set by useSshHosts's beforeAll, read by the tests.
export let ssh: SshHosts;
export let dir: string;
export let bundle: string;

/** An Output that keeps the lines printed on stdout and stderr. */
export function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, tty: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

/** The inventory's ssh section for these hosts. */
export const sshSection = (): string => inventorySshSection(ssh, ["ConnectTimeout=5"]);

/** Start the hosts and bundle the runner before this file's tests; stop and remove them after. */
export function useSshHosts(): void {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gantry-converge-ssh-"));
    // Host 4 gets a PATH with a shell and coreutils but no node.
    const noNodeBin = join(dir, "no-node-bin");
    mkdirSync(noNodeBin);
    for (const c of ["sh", "bash", "cat", "mkdir", "mv", "test"]) {
      const target = execFileSync("sh", ["-c", `command -v ${c}`])
        .toString()
        .trim();
      if (target.startsWith("/")) symlinkSync(target, join(noNodeBin, c));
    }
    ssh = await startSshHosts(4, {
      env: (i): Record<string, string> => (i === 3 ? { PATH: noNodeBin } : {}),
    });
    bundle = join(dir, "converge-runner.mjs");
    execFileSync(process.execPath, ["scripts/bundle-runner.mjs", "--out", bundle]);
  });

  afterAll(async () => {
    await ssh?.cleanup();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
}
