import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { nodeTransport } from "../client/transport.js";
import { setTimeout as sleep } from "node:timers/promises";

export interface RegistryProcessOptions {
  binary: string;
  /** Where the registry's output goes (appended). */
  logPath: string;
  /** Where its pid is kept, so a registry left by a killed server is found and stopped. */
  pidPath: string;
  /** host:port it serves on (for the readiness probe). */
  addr: string;
  log: (line: string) => void;
  /** First restart delay; doubled per quick death, at most 30 s (tests shorten it). */
  backoffMs?: number;
}

const MAX_BACKOFF_MS = 30_000;
const SETPRIV = "/usr/bin/setpriv";
/** A registry that ran this long before dying was healthy: the next restart is quick again. */
const STABLE_MS = 60_000;

/**
 * Debian's `docker-registry serve CONFIG` as a supervised child: restarted with backoff when it
 * dies, stopped with the server, restarted on another config (read-only for garbage collection).
 */
export class RegistryProcess {
  private child: ChildProcess | undefined;
  private configPath = "";
  private stopping = false;
  private ready = false;
  private backoff: number;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onExit = (): void => {
    this.child?.kill("SIGKILL");
  };

  constructor(private readonly o: RegistryProcessOptions) {
    this.backoff = o.backoffMs ?? 1000;
  }

  /** Whether it runs and answered its readiness probe. */
  get running(): boolean {
    return this.ready && this.child !== undefined && this.child.exitCode === null;
  }

  /** Start it on `configPath` (stopping one this server left behind), and wait until it answers. */
  async start(configPath: string): Promise<void> {
    this.stopping = false;
    this.configPath = configPath;
    await killLeftover(this.o.pidPath, dirname(configPath));
    process.on("exit", this.onExit);
    this.spawn();
    await this.waitReady();
  }

  /** Stop it, then start it on another config (the read-only one, or back). */
  async restart(configPath: string): Promise<void> {
    await this.stop();
    await this.start(configPath);
  }

  /** SIGTERM, then SIGKILL after 5 s; no restart follows. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.ready = false;
    clearTimeout(this.restartTimer);
    process.off("exit", this.onExit);
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(this.o.pidPath, { force: true });
  }

  /** The running child's pid (tests kill it to see it come back). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Wait until GET /v2/ answers (401 without a token is an answer), at most `ms`. */
  async waitReady(ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.stopping) return;
      try {
        const res = await nodeTransport(new URL(`http://${this.o.addr}/v2/`), {
          method: "GET",
          headers: {},
          signal: AbortSignal.timeout(2000),
        });
        if (res.status === 200 || res.status === 401) {
          this.ready = true;
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`the registry did not answer on ${this.o.addr} within ${ms / 1000} s`);
  }

  private spawn(): void {
    const fd = openSync(this.o.logPath, "a", 0o600);
    const started = Date.now();
    // setpriv (util-linux) makes the kernel kill the registry when this process dies, even by
    // SIGKILL: no registry is left holding its port behind a crashed server.
    const args = [this.o.binary, "serve", this.configPath];
    const child = existsSync(SETPRIV)
      ? spawn(SETPRIV, ["--pdeathsig", "KILL", "--", ...args], { stdio: ["ignore", fd, fd] })
      : spawn(args[0]!, args.slice(1), { stdio: ["ignore", fd, fd] });
    closeSync(fd);
    this.child = child;
    if (child.pid !== undefined) writeFileSync(this.o.pidPath, `${child.pid}\n`);
    child.on("error", (err) => this.o.log(`registry: ${err.message}`));
    child.on("exit", (code, signal) => {
      if (this.child !== child || this.stopping) return;
      this.ready = false;
      if (Date.now() - started > STABLE_MS) this.backoff = this.o.backoffMs ?? 1000;
      const wait = this.backoff;
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      this.o.log(
        `registry exited (${signal ?? `code ${code}`}); restarting in ${wait / 1000} s (its log: ${this.o.logPath})`,
      );
      this.restartTimer = setTimeout(() => {
        if (this.stopping) return;
        this.spawn();
        this.waitReady().catch((err: Error) => this.o.log(`registry: ${err.message}`));
      }, wait);
      this.restartTimer.unref();
    });
  }
}

/** A registry a killed server left running on a config in `dir` holds its port: stop it. */
async function killLeftover(pidPath: string, dir: string): Promise<void> {
  if (!existsSync(pidPath)) return;
  const pid = Number(readFileSync(pidPath, "utf8").trim());
  const alive = (): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/config`);
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 0 && alive()) {
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && alive(); i++) await sleep(20);
  }
  rmSync(pidPath, { force: true });
}
