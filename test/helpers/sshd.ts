/**
 * Real OpenSSH servers for tests: `startSshHosts(n)` starts n `sshd -D` on loopback addresses
 * (127.0.0.2, 127.0.0.3, … each on a free port), all in one temp dir with generated host keys,
 * one ed25519 client key that every host accepts, and a separate HOME per host (sshd's
 * `SetEnv HOME=…`), so a host's `~/.cache` is its own even though every host is this machine.
 * Each host can be stopped (its connections too) and started again.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";
import { descendants } from "./proc.js";

export const SSHD_BIN = "/usr/sbin/sshd";

export interface SshHost {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The HOME of sessions on this host. */
  readonly home: string;
  readonly running: boolean;
  start(): Promise<void>;
  /** Stop sshd and every session it serves (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

export interface SshHosts {
  readonly dir: string;
  readonly hosts: SshHost[];
  /** The client's private key. */
  readonly identityFile: string;
  /** ssh options for the client: a private known_hosts, no host key prompts. */
  readonly clientOptions: string[];
  /** Stop every host and delete the temp dir. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether something accepts TCP connections on `address:port`. */
export function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * In `dir`: a client key (client_key) that authorized_keys accepts, and a host key (host_key).
 * The client's private key.
 */
export function makeKeys(dir: string): string {
  const keygen = (file: string, comment: string): void => {
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  };
  const identityFile = join(dir, "client_key");
  keygen(identityFile, "gantry-test-client");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${identityFile}.pub`));
  keygen(join(dir, "host_key"), "gantry-test-host");
  return identityFile;
}

/** The sshd_config lines every test sshd of `dir` (made by makeKeys) shares. */
export function commonConfig(dir: string): string[] {
  return [
    `HostKey ${join(dir, "host_key")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "PermitRootLogin yes",
    "StrictModes no",
    "UsePAM no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PrintMotd no",
    "PrintLastLog no",
    "MaxStartups 100:30:200",
    "MaxSessions 100",
    "LogLevel ERROR",
  ];
}

/** The SetEnv line of sessions: their HOME, and `env` besides. */
export function setEnvLine(home: string, env: Record<string, string> = {}): string {
  return `SetEnv HOME=${home}${Object.entries(env)
    .map(([k, v]) => ` ${k}=${v}`)
    .join("")}`;
}

/** ssh options for the client of the sshds of `dir`: a private known_hosts, no prompts. */
export function clientOptionsOf(dir: string): string[] {
  return [
    `UserKnownHostsFile=${join(dir, "known_hosts")}`,
    "StrictHostKeyChecking=no",
    "LogLevel=ERROR",
  ];
}

class Host implements SshHost {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    readonly home: string,
    private readonly config: string,
    private readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const child = spawn(SSHD_BIN, ["-D", "-e", "-f", this.config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    killOnExit(child);
    let log = "";
    child.stderr!.on("data", (b: Buffer) => {
      log += b.toString();
      if (log.length > 20_000) log = log.slice(-10_000);
      writeFileSync(this.logFile, log);
    });
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.child === undefined) throw new Error(`sshd ${this.name} exited: ${log.trim()}`);
      if (await accepts(this.address, this.port)) return;
      await sleep(25);
    }
    throw new Error(`sshd ${this.name} did not listen within 10 s: ${log.trim()}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) return;
    const pids = [child.pid, ...descendants(child.pid)];
    for (const p of pids) {
      try {
        process.kill(p, "SIGTERM");
      } catch {
        // gone already
      }
    }
    const timer = setTimeout(() => {
      for (const p of pids) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }, 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The `ssh:` section of a `gantry converge --inventory` file that reaches these hosts as root
 * with the client key (and `extraOptions` besides).
 */
export function inventorySshSection(ssh: SshHosts, extraOptions: string[] = []): string {
  const options = [...ssh.clientOptions, ...extraOptions].map((o) => JSON.stringify(o));
  return [
    "ssh:",
    "  user: root",
    `  identityFile: ${ssh.identityFile}`,
    `  options: [${options.join(", ")}]`,
  ].join("\n");
}

export interface SshHostsOptions {
  /** More environment for sessions on host `i` (0-based), through sshd's SetEnv: `PATH`. */
  env?: (i: number) => Record<string, string>;
}

/** Start `n` sshd hosts on 127.0.0.2… and a client key they all accept. */
export async function startSshHosts(n: number, opts: SshHostsOptions = {}): Promise<SshHosts> {
  if (!existsSync(SSHD_BIN)) {
    throw new Error(
      `${SSHD_BIN} is missing: the SSH tests need Debian's openssh-server; run scripts/install-test-deps.sh (as root)`,
    );
  }
  // sshd refuses to start without its privilege separation directory.
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), "gantry-sshd-"));
  // sshd reads authorized_keys as the user who logs in: let unprivileged test users in too.
  chmodSync(dir, 0o755);
  const identityFile = makeKeys(dir);

  const hosts: Host[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const name = `host${i + 1}`;
      const address = `127.0.0.${i + 2}`;
      const port = await freePort(address);
      const home = join(dir, name, "home");
      mkdirSync(home, { recursive: true });
      const config = join(dir, name, "sshd_config");
      writeFileSync(
        config,
        [
          `ListenAddress ${address}:${port}`,
          `PidFile ${join(dir, name, "sshd.pid")}`,
          ...commonConfig(dir),
          setEnvLine(home, opts.env?.(i)),
          "",
        ].join("\n"),
      );
      const host = new Host(name, address, port, home, config, join(dir, name, "sshd.log"));
      hosts.push(host);
    }
    await Promise.all(hosts.map((h) => h.start()));
  } catch (err) {
    await Promise.all(hosts.map((h) => h.stop()));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    hosts,
    identityFile,
    clientOptions: clientOptionsOf(dir),
    async cleanup() {
      await Promise.all(hosts.map((h) => h.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
