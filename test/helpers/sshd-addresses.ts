/**
 * Real OpenSSH servers for an `ssh` pool: hosts on loopback addresses (127.100.6.1, …) that all
 * listen on ONE port, as a pool's hosts do (`ssh.port`), each with its own HOME (sshd's
 * `Match LocalAddress` + `SetEnv HOME=…`), so a relative node root is a separate directory per
 * host although every host is this machine. Groups of addresses are separate sshd processes, so
 * one group can be stopped (connections too) to make its hosts unreachable.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";
import { descendants } from "./proc.js";
import { accepts, clientOptionsOf, commonConfig, makeKeys, setEnvLine, SSHD_BIN } from "./sshd.js";

export interface SshdGroup {
  readonly addresses: string[];
  start(): Promise<void>;
  /** Stop sshd and every session it serves. */
  stop(): Promise<void>;
}

export interface SshAddresses {
  readonly dir: string;
  readonly port: number;
  readonly identityFile: string;
  /** ssh `-o` options: a private known_hosts, no prompts. */
  readonly options: string[];
  readonly groups: SshdGroup[];
  /** The HOME of sessions on `address`. */
  home(address: string): string;
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Start one sshd per group of addresses, all on one free port; `env` adds variables to the
 * sessions on an address (a `PATH` without node).
 */
export async function startSshAddresses(
  groups: string[][],
  env: Record<string, Record<string, string>> = {},
): Promise<SshAddresses> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), "gantry-sshd-pool-"));
  chmodSync(dir, 0o755);
  const identityFile = makeKeys(dir);
  const port = await freePort(groups[0]![0]!);
  const home = (address: string): string => join(dir, "home", address);
  const made = groups.map((addresses, i) => {
    for (const a of addresses) mkdirSync(home(a), { recursive: true });
    const config = join(dir, `sshd_config.${i}`);
    writeFileSync(
      config,
      [
        ...addresses.map((a) => `ListenAddress ${a}:${port}`),
        `PidFile ${join(dir, `sshd.${i}.pid`)}`,
        ...commonConfig(dir),
        ...addresses.flatMap((a) => [
          `Match LocalAddress ${a}`,
          `  ${setEnvLine(home(a), env[a])}`,
        ]),
        "",
      ].join("\n"),
    );
    return new Group(addresses, port, config);
  });
  try {
    await Promise.all(made.map((g) => g.start()));
  } catch (err) {
    await Promise.all(made.map((g) => g.stop()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    port,
    identityFile,
    options: clientOptionsOf(dir),
    groups: made,
    home,
    async cleanup() {
      await Promise.all(made.map((g) => g.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

class Group implements SshdGroup {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = "";

  constructor(
    readonly addresses: string[],
    private readonly port: number,
    private readonly config: string,
  ) {}

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const child = spawn(SSHD_BIN, ["-D", "-e", "-f", this.config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    killOnExit(child);
    child.stderr!.on("data", (b: Buffer) => (this.log = (this.log + b.toString()).slice(-10_000)));
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child === undefined) throw new Error(`sshd exited: ${this.log.trim()}`);
      const up = await Promise.all(this.addresses.map((a) => accepts(a, this.port)));
      if (up.every(Boolean)) return;
      await sleep(25);
    }
    throw new Error(`sshd did not listen within 10 s: ${this.log.trim()}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) return;
    for (const p of [child.pid, ...descendants(child.pid)]) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await this.exited;
  }
}
