/**
 * A load of short-lived TCP connections (connect, close at once) in a process of its own, to
 * churn the kernel's ephemeral ports: each connection takes a source port from
 * ip_local_port_range and leaves it in TIME_WAIT for 60 s. Only to this host's own addresses
 * (a sink listens on each), bounded in connections and time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { networkInterfaces } from "node:os";

export interface ChurnStats {
  /** Connections made, per target address. */
  conns: Record<string, number>;
  /** Of those, how many took an odd source port (where listen(0) picks its ports). */
  odd: Record<string, number>;
  errors: number;
}

export interface Churn {
  /** Stats so far (updated every 250 ms). */
  stats(): ChurnStats;
  stop(): Promise<ChurnStats>;
}

const SCRIPT = `
const { createServer, connect } = require("node:net");
const [hosts, concurrency, maxConns, maxMs] = JSON.parse(process.argv[1]);
const stats = { conns: {}, odd: {}, errors: 0 };
let total = 0;
let stop = false;
const report = () => process.stdout.write(JSON.stringify(stats) + "\\n");
const end = () => { stop = true; report(); process.exit(0); };
process.on("SIGTERM", end);
setTimeout(end, maxMs);
setInterval(report, 250);
(async () => {
  const sinks = await Promise.all(hosts.map((host) => new Promise((resolve) => {
    const sink = createServer((s) => { s.on("error", () => {}); s.resume(); s.on("end", () => s.end()); });
    sink.listen(0, host, () => resolve({ host, port: sink.address().port }));
  })));
  for (const { host } of sinks) { stats.conns[host] = 0; stats.odd[host] = 0; }
  const one = ({ host, port }) => new Promise((resolve) => {
    const c = connect(port, host);
    c.on("connect", () => {
      stats.conns[host]++;
      if (c.localPort % 2 === 1) stats.odd[host]++;
      c.end();
    });
    c.on("error", () => { stats.errors++; resolve(); });
    c.on("close", resolve);
    c.resume();
  });
  const loop = async (i) => {
    // One loop in four to the first address (loopback), the rest spread over the others.
    const target = sinks.length === 1 || i % 4 === 0 ? sinks[0] : sinks[1 + (i % (sinks.length - 1))];
    while (!stop && total++ < maxConns) await one(target);
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => loop(i)));
  end();
})();
`;

/**
 * This host's own addresses: loopback, and its first non-internal IPv4 address if it has one.
 * Connections to either never leave the machine (the kernel routes its own addresses over lo),
 * but only loopback ones reuse TIME_WAIT ports (tcp_tw_reuse=2), so only the other makes the
 * kernel run out of its even ports and hand out odd ones: the ones listen(0) takes.
 */
export function ownAddresses(): string[] {
  const own = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === "IPv4" && !i.internal);
  return own === undefined ? ["127.0.0.1"] : ["127.0.0.1", own.address];
}

/** Start churning: `concurrency` connect-and-close loops, at most `maxConns` / `maxMs`. */
export function startChurn(opts: {
  hosts: string[];
  concurrency: number;
  maxConns: number;
  maxMs: number;
}): Churn {
  const child: ChildProcess = spawn(
    process.execPath,
    ["-e", SCRIPT, JSON.stringify([opts.hosts, opts.concurrency, opts.maxConns, opts.maxMs])],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let last: ChurnStats = { conns: {}, odd: {}, errors: 0 };
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
