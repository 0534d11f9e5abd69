import { connect } from "node:net";
import { hostPort, type ProbeResult } from "./types.js";

/** Open a TCP connection to host:port: it passes when the connection is accepted in time. */
export function tcpProbe(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> {
  const where = hostPort(host, port);
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ""), port });
    const done = (result: ProbeResult): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        done({
          status: "critical",
          output: `TCP connect ${where}: timed out after ${timeoutMs}ms`,
        }),
      timeoutMs,
    );
    const onAbort = (): void =>
      done({ status: "critical", output: `TCP connect ${where}: cancelled` });
    signal.addEventListener("abort", onAbort);
    socket.once("connect", () =>
      done({ status: "passing", output: `TCP connect ${where}: Success` }),
    );
    socket.once("error", (err) =>
      done({ status: "critical", output: `TCP connect ${where}: ${err.message}` }),
    );
  });
}
