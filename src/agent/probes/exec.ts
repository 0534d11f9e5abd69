import { spawn } from "node:child_process";
import { clip, OUTPUT_LIMIT, type ProbeResult } from "./types.js";

/**
 * Run `argv` directly (never through a shell, so nothing in it is interpreted): exit 0 passes,
 * exit 1 warns, anything else is critical (Consul's and Nagios' convention). The command runs in
 * its own process group, so a timeout or the agent stopping kills it with all its children.
 */
export function execProbe(
  argv: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let output = "";
    let settled = false;
    let killedFor: string | undefined;
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const collect = (d: Buffer): void => {
      if (output.length < OUTPUT_LIMIT) output += d.toString("utf8");
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const killGroup = (why: string): void => {
      killedFor = why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => killGroup(`timed out after ${timeoutMs}ms`), timeoutMs);
    const onAbort = (): void => killGroup("cancelled");
    signal.addEventListener("abort", onAbort);
    if (signal.aborted) onAbort();
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      resolve({ status: result.status, output: clip(result.output) });
    };
    child.once("error", (err) =>
      finish({ status: "critical", output: `exec ${argv[0]}: ${err.message}` }),
    );
    child.once("close", (code, sig) => {
      const text = output.trim();
      if (killedFor !== undefined)
        return finish({
          status: "critical",
          output: `exec ${argv[0]}: ${killedFor}${text ? `\n${text}` : ""}`,
        });
      if (code === 0) return finish({ status: "passing", output: text });
      const status = code === 1 ? "warning" : "critical";
      const how = code === null ? `killed by ${sig}` : `exit status ${code}`;
      finish({ status, output: `${how}${text ? `\n${text}` : ""}` });
    });
  });
}
