/**
 * A load of short-lived TCP connections (connect, close at once) in a process of its own, to
 * churn the kernel's ephemeral ports: each connection takes a source port from
 * ip_local_port_range and leaves it in TIME_WAIT for 60 s. To loopback only (a sink listens on
 * 127.0.0.1 or ::1): load may go nowhere else. Bounded in connections and time, and paced.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { isIPv4 } from "node:net";

export interface ChurnStats {
  /** Connections made. */
  conns: number;
  /** Of those, how many took an odd source port (where listen(0) picks its ports). */
  odd: number;
  /** connect() failures (EADDRNOTAVAIL once every source port to the sink is in TIME_WAIT). */
  errors: number;
}

export interface Churn {
  /** Stats so far (updated every 250 ms). */
  stats(): ChurnStats;
  stop(): Promise<ChurnStats>;
}

const SCRIPT = `
const { createServer, connect } = require("node:net");
const [host, concurrency, maxConns, maxMs, perSec] = JSON.parse(process.argv[1]);
const stats = { conns: 0, odd: 0, errors: 0 };
let tries = 0;
let stop = false;
const report = () => process.stdout.write(JSON.stringify(stats) + "\\n");
const end = () => { stop = true; report(); process.exit(0); };
process.on("SIGTERM", end);
setTimeout(end, maxMs);
setInterval(report, 250);
const t0 = Date.now();
const pace = () => {
  const ahead = tries / perSec * 1000 - (Date.now() - t0);
  return ahead > 0 ? new Promise((r) => setTimeout(r, ahead)) : undefined;
};
const sink = createServer((s) => { s.on("error", () => {}); s.resume(); s.on("end", () => s.end()); });
sink.listen(0, host, async () => {
  const port = sink.address().port;
  const one = () => new Promise((resolve) => {
    const c = connect(port, host);
    c.on("connect", () => {
      stats.conns++;
      if (c.localPort % 2 === 1) stats.odd++;
      c.end();
    });
    c.on("error", () => { stats.errors++; resolve(); });
    c.on("close", resolve);
    c.resume();
  });
  const loop = async () => {
    while (!stop && tries++ < maxConns) { await pace(); await one(); }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  end();
});
`;

/** Whether `host` is a loopback address (127.0.0.0/8 or ::1): the only place churn may go. */
export function isLoopback(host: string): boolean {
  return host === "::1" || (isIPv4(host) && host.startsWith("127."));
}

/**
 * Start churning against a sink on `host`: `concurrency` connect-and-close loops, at most
 * `perSec` attempts a second, `maxConns` attempts and `maxMs` in all.
 */
export function startChurn(opts: {
  host: string;
  concurrency: number;
  maxConns: number;
  maxMs: number;
  perSec: number;
}): Churn {
  const host = opts.host;
  if (!isLoopback(host)) throw new Error(`churn goes to loopback only, not ${host}`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "-e",
      SCRIPT,
      JSON.stringify([host, opts.concurrency, opts.maxConns, opts.maxMs, opts.perSec]),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let last: ChurnStats = { conns: 0, odd: 0, errors: 0 };
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop() ?? "";
    const line = lines.at(-1);
    if (line !== undefined && line !== "") last = JSON.parse(line) as ChurnStats;
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  process.once("exit", () => child.kill("SIGKILL"));
  return {
    stats: () => last,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      return last;
    },
  };
}
