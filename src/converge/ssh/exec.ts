/** Spawn the system `ssh` with an argv (never a local shell), feed stdin, stream stdout lines. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface SshExit {
  code: number;
  /** What ssh and the remote command wrote to stderr (the last 64 KiB). */
  stderr: string;
  /** Set when `stop` ended the run. */
  stopped: boolean;
}

export interface SshRun {
  args: string[];
  /** The remote command (one string: ssh passes it to the remote login shell). */
  command: string;
  stdin: string | Buffer;
  /**
   * Keep stdin open after `stdin` is written (the runner's lifeline, runner-main.ts) until this
   * aborts, `stop` aborts or ssh exits. Default: stdin ends after `stdin`.
   */
  holdStdin?: AbortSignal;
  /**
   * When it aborts: stdin ends (the remote command sees EOF), and ssh is killed if it has not
   * exited `killAfterMs` later.
   */
  stop?: AbortSignal;
  /** Default 10 s. */
  killAfterMs?: number;
  onLine?: (line: string) => void;
  /** The ssh binary (default `ssh` on PATH). */
  bin?: string;
}

/** Run one ssh command to its end. Rejects only when ssh itself cannot be started. */
export function runSsh(run: SshRun): Promise<SshExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.bin ?? "ssh", [...run.args, run.command], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr += s;
      if (stderr.length > 65_536) stderr = stderr.slice(-65_536);
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on("line", (l) => run.onLine?.(l));
    const stdoutDone = new Promise<void>((r) => {
      lines.once("close", () => r());
      child.stdout.once("close", () => r()); // destroyed: readline sees no end
    });
    // A host that closes stdin early (the runner is missing) makes the write fail: not an error.
    child.stdin.on("error", () => {});
    const hold = run.holdStdin;
    const release = (): void => void child.stdin.end();
    if (hold === undefined || hold.aborted) child.stdin.end(run.stdin);
    else {
      child.stdin.write(run.stdin);
      hold.addEventListener("abort", release, { once: true });
    }

    let stopped = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    const onStop = (): void => {
      stopped = true;
      child.stdin.end();
      killTimer = setTimeout(() => {
        child.kill("SIGKILL");
        // A multiplexed ssh handed its pipes to the master connection, which keeps them open
        // while the remote command runs: let go of our ends, or "close" would wait for it.
        child.stdout.destroy();
        child.stderr.destroy();
      }, run.killAfterMs ?? 10_000);
    };
    if (run.stop?.aborted === true) onStop();
    else run.stop?.addEventListener("abort", onStop, { once: true });

    const forget = (): void => {
      run.stop?.removeEventListener("abort", onStop);
      hold?.removeEventListener("abort", release);
      clearTimeout(killTimer);
    };
    child.once("error", (err) => {
      forget();
      reject(
        (err as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error(
              "ssh not found: converge --inventory needs the OpenSSH client (openssh-client)",
            )
          : err,
      );
    });
    child.once("close", (code, signal) => {
      forget();
      void stdoutDone.then(() =>
        resolve({ code: code ?? (signal === null ? 1 : 128), stderr, stopped }),
      );
    });
  });
}
