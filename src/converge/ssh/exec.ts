/** Spawn the system `ssh` with an argv (never a local shell), feed stdin, stream stdout lines. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface SshExit {
  code: number;
  /** What ssh and the remote command wrote to stderr (the last 64 KiB). */
  stderr: string;
}

export interface SshRun {
  args: string[];
  /** The remote command (one string: ssh passes it to the remote login shell). */
  command: string;
  stdin: string | Buffer;
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
    const stdoutDone = new Promise<void>((r) => lines.once("close", () => r()));
    // A host that closes stdin early (the runner is missing) makes the write fail: not an error.
    child.stdin.on("error", () => {});
    child.stdin.end(run.stdin);
    child.once("error", (err) =>
      reject(
        (err as NodeJS.ErrnoException).code === "ENOENT"
          ? new Error(
              "ssh not found: converge --inventory needs the OpenSSH client (openssh-client)",
            )
          : err,
      ),
    );
    child.once("close", (code, signal) => {
      void stdoutDone.then(() => resolve({ code: code ?? (signal === null ? 1 : 128), stderr }));
    });
  });
}
