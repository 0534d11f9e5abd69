/**
 * Run one of an `exec` pool's commands: an argv (never a shell), the request as JSON on stdin —
 * the only way a token reaches it — and its stdout back. A command that exits non-zero, is
 * killed, or runs past its timeout is an error that quotes the end of its stderr.
 */
import { spawn } from "node:child_process";
import { GantryError } from "../../errors.js";

export interface ExecCommand {
  /** What the command is for (`create`, `destroy`, `list`): errors name it. */
  what: string;
  argv: string[];
  /** Written to stdin as one line of JSON. */
  input: unknown;
  timeoutMs: number;
  cwd?: string;
  /** How long after SIGTERM (at the timeout) the command's process group gets SIGKILL. */
  killGraceMs?: number;
}

/** stdout larger than this is an error (a `list` of 254 machines is a few tens of KiB). */
const MAX_STDOUT = 4 * 1024 * 1024;
const STDERR_KEPT = 8 * 1024;

/** "the exec create command (./cloud.sh)": how errors name a command. */
export const commandName = (c: Pick<ExecCommand, "what" | "argv">): string =>
  `the exec ${c.what} command (${c.argv[0]})`;

/** The last lines of what a command wrote to stderr, or a note that it wrote nothing. */
export function stderrTail(stderr: string, lines = 5): string {
  const kept = stderr
    .trim()
    .split("\n")
    .filter((l) => l.trim() !== "");
  return kept.length === 0 ? "(nothing on stderr)" : kept.slice(-lines).join("\n");
}

/**
 * The command's environment: this process's, without any `GANTRY_*` variable (a server token
 * in `GANTRY_TOKEN` must not leak into a user's script; the node's token comes on stdin).
 */
export function commandEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("GANTRY_")));
}

/** Run the command to its end; resolves with its stdout when it exits 0. */
export function runExecCommand(c: ExecCommand): Promise<string> {
  const name = commandName(c);
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout ends what it started too (a cloud CLI's children).
    const child = spawn(c.argv[0]!, c.argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
      env: commandEnv(),
      ...(c.cwd === undefined ? {} : { cwd: c.cwd }),
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";
    let failure: string | undefined;
    child.stdout.on("data", (b: Buffer) => {
      stdoutBytes += b.length;
      if (stdoutBytes <= MAX_STDOUT) stdout.push(b);
      else if (failure === undefined) {
        failure = `printed more than ${MAX_STDOUT} bytes`;
        killGroup("SIGKILL");
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr += s;
      if (stderr.length > 2 * STDERR_KEPT) stderr = stderr.slice(-STDERR_KEPT);
    });
    // A command that does not read its stdin closes it early: not an error of its own.
    child.stdin.on("error", () => undefined);
    child.stdin.end(JSON.stringify(c.input) + "\n");

    function killGroup(sig: NodeJS.Signals): void {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // Gone already.
      }
    }
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const timer = setTimeout(() => {
      failure = `did not finish within ${Math.round(c.timeoutMs / 1000)} s and was stopped`;
      killGroup("SIGTERM");
      killTimer = setTimeout(() => killGroup("SIGKILL"), c.killGraceMs ?? 5000);
    }, c.timeoutMs);

    child.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      const why = err.code === "ENOENT" ? "is not there (or not executable)" : err.message;
      reject(new GantryError("exec_failed", `${name} ${why}`, { cause: err }));
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      // A background process the command left behind may hold stdout open: read what is there,
      // then let go instead of waiting for it.
      const settle = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, 1000);
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(settle);
        const how =
          failure ??
          (code === 0
            ? undefined
            : code !== null
              ? `exited with code ${code}`
              : `was killed by ${signal ?? "a signal"}`);
        if (how === undefined) resolve(Buffer.concat(stdout).toString("utf8"));
        else
          reject(
            new GantryError(
              failure?.startsWith("did not finish") === true ? "exec_timeout" : "exec_failed",
              `${name} ${how}: ${stderrTail(stderr)}`,
            ),
          );
      };
      let open = 2;
      const closed = (): void => {
        if (--open === 0) finish();
      };
      if (child.stdout.closed) closed();
      else child.stdout.once("close", closed);
      if (child.stderr.closed) closed();
      else child.stderr.once("close", closed);
    });
  });
}
