import { spawn as nodeSpawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { constants } from "node:os";
import type { Command } from "commander";
import type { GantryClient } from "../client/client.js";
import { Session, SessionLostError } from "../client/sessions.js";
import { ValidationError } from "../errors.js";
import { parseDuration } from "../model/duration.js";
import { parseSessionTtl } from "../model/session.js";
import { clientFromEnv } from "./config.js";
import type { Output } from "../output/output.js";

/** Where `gantry lock NAME` keeps its lock key: `locks/NAME` in the KV store. */
export const LOCK_PREFIX = "locks/";

export interface LockRun {
  client: GantryClient;
  name: string;
  /** The command and its arguments (run without a shell). */
  command: string[];
  ttl?: string;
  timeout?: string;
  o: Output;
  /** Swappable for tests. */
  spawn?: typeof nodeSpawn;
}

/** Exit codes besides the command's own. */
const EXIT_FAILED = 1;
const EXIT_NOT_FOUND = 127;
const EXIT_NOT_EXECUTABLE = 126;

const signalExit = (sig: NodeJS.Signals): number => 128 + (constants.signals[sig] ?? 1);

/**
 * Hold `locks/NAME` while COMMAND runs, like `consul lock`: a session (deleted-on-destroy, so the
 * key vanishes with it), wait for the lock, run the command with inherited stdio, keep the
 * session alive, and free the lock when the command ends. Returns the exit code: the command's,
 * 128+N when it died of signal N, 1 when the lock could not be held.
 */
export async function runLocked(run: LockRun): Promise<number> {
  const { o, name, command } = run;
  if (name === "" || name.startsWith("/") || name.endsWith("/"))
    throw new ValidationError(`NAME must be a lock name like "deploy" or "db/migrate"`, "NAME");
  if (command.length === 0 || command[0] === "")
    throw new ValidationError("give a COMMAND to run after --", "COMMAND");
  const ttl = parseSessionTtl(run.ttl ?? "15s", "--ttl");
  const timeoutMs = run.timeout === undefined ? undefined : parseDuration(run.timeout);
  if (timeoutMs === undefined && run.timeout !== undefined)
    throw new ValidationError(
      `--timeout must be a duration like "30s" or "5m", got "${run.timeout}"`,
      "--timeout",
    );
  const key = LOCK_PREFIX + name;
  const spawn = run.spawn ?? nodeSpawn;

  const waiting = new AbortController();
  let child: ChildProcess | undefined;
  let signalled: NodeJS.Signals | undefined;
  let lostWhileRunning: SessionLostError | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled ??= sig;
    if (child !== undefined) child.kill(sig);
    else waiting.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let session: Session | undefined;
  try {
    session = await Session.create(run.client, {
      name: key,
      ttl: `${ttl}s`,
      behavior: "delete",
      onLost: (err) => {
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        lostWhileRunning = err;
        o.err(`gantry: lost lock ${name}: ${err.message}; stopping ${command[0]}`);
        child.kill("SIGTERM");
        const c = child;
        setTimeout(() => c.kill("SIGKILL"), 10_000).unref();
      },
    });
    const holder = JSON.stringify({
      host: hostname(),
      pid: process.pid,
      command: command.join(" ").slice(0, 1024),
      since: new Date().toISOString(),
    });
    let acquired: boolean;
    try {
      acquired = await session.acquire(key, holder, {
        signal: waiting.signal,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        onWait: (kv) => o.err(`waiting for lock ${name}…${describeHolder(kv.value)}`),
      });
    } catch (err) {
      if (signalled !== undefined) return signalExit(signalled);
      throw err;
    }
    if (!acquired) {
      o.err(`gantry: timed out after ${run.timeout} waiting for lock ${name}`);
      return EXIT_FAILED;
    }
    if (signalled !== undefined) return signalExit(signalled);

    const started = spawn(command[0]!, command.slice(1), { stdio: "inherit" });
    child = started;
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>(
      (resolve) => {
        started.once("error", resolve);
        started.once("exit", (code, signal) => resolve({ code, signal }));
      },
    );
    if (exit instanceof Error) {
      const code = (exit as NodeJS.ErrnoException).code;
      o.err(`gantry: cannot run "${command[0]}": ${exit.message}`);
      return code === "ENOENT" ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
    }
    if (lostWhileRunning !== undefined) return EXIT_FAILED;
    if (exit.signal !== null) return signalExit(exit.signal);
    return exit.code ?? EXIT_FAILED;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // Destroying the session deletes the lock key (behavior "delete"): the lock is free at once.
    await session?.destroy().catch((err: unknown) => {
      o.err(
        `gantry: could not release lock ${name} (it frees itself within ${ttl}s): ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  }
}

/** " (held by HOST pid N)" from a `gantry lock` holder value; "" for other values. */
function describeHolder(b64: string): string {
  try {
    const v = JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as {
      host?: unknown;
      pid?: unknown;
    };
    if (typeof v.host === "string" && typeof v.pid === "number")
      return ` (held by ${v.host} pid ${v.pid})`;
  } catch {
    // not ours: say nothing about the holder
  }
  return "";
}

export function registerLockCommands(program: Command, o: Output): void {
  program
    .command("lock")
    .description("run a command while holding a lock, like consul lock")
    .argument("<name>", `the lock; its key is ${LOCK_PREFIX}NAME`)
    .argument("<command...>", "the command and its arguments, after --")
    .option("--ttl <duration>", "session TTL: a dead holder's lock frees after this", "15s")
    .option("--timeout <duration>", "give up waiting for the lock after this long (exit 1)")
    .addHelpText(
      "after",
      `
The lock is the key ${LOCK_PREFIX}NAME, held with a session that this process renews every TTL/3.
When the command ends the lock is released and the exit code is the command's. If this process
dies without releasing, the lock frees after the TTL. If the session is lost while the command
runs, the command gets SIGTERM and gantry lock exits 1. SIGINT/SIGTERM are passed to the command.

Examples:
  $ gantry lock deploy -- ./deploy.sh production
  $ gantry lock db/migrate --timeout 30s -- npm run migrate
  $ gantry lock backup --ttl 30s -- sh -c 'pg_dump app > /backups/app.sql'`,
    )
    .action(async (name: string, command: string[], opts: { ttl: string; timeout?: string }) => {
      process.exitCode = await runLocked({
        client: clientFromEnv(),
        name,
        command,
        ttl: opts.ttl,
        ...(opts.timeout === undefined ? {} : { timeout: opts.timeout }),
        o,
      });
    });
}
