/**
 * The latency half of the router bench: bench/latency-probe.mjs over direct, router and nginx
 * interleaved, BENCH_PROBE_ROUNDS rounds of BENCH_PROBE_SECONDS, first on the machine as it is,
 * then with idle CPUs held ready as `gantry up --low-latency` holds them (when this machine and
 * user can), each set after bench/wake-jitter.mjs has measured the machine's wake-up lateness.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { holdCpuLatency, type CpuLatencyHold } from "../src/server/cpu-latency.js";

export type Variant = "direct" | "router" | "nginx";

export interface ProbeResult {
  sent: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
}

export interface LatencyResult {
  /** Whether idle CPUs were held at 0 µs wake-up latency during these rounds. */
  lowLatency: boolean;
  /** The median round of each variant, by p99. */
  probe: Record<Variant, ProbeResult>;
  /** router p99 − direct p99 in the same round, median over the rounds, ms */
  addedP99: number;
  /** nginx p99 − direct p99 in the same round, median over the rounds, ms: the peer's figure */
  nginxAddedP99: number;
  /** How late a 0.5 ms sleep woke (bench/wake-jitter.mjs) just before the rounds, ms. */
  wake: { p50: number; p99: number };
}

export type Targets = Record<Variant, { url: string; host?: string }>;

const PROBE_RATE = Number(process.env["BENCH_PROBE_RATE"] ?? 500);
const PROBE_SECONDS = Number(process.env["BENCH_PROBE_SECONDS"] ?? 8);
const PROBE_ROUNDS = Number(process.env["BENCH_PROBE_ROUNDS"] ?? 7);
/**
 * One connection per target: the three targets share one app and one probe, so with several
 * connections their requests queue behind each other there, and the p99 measures that queueing
 * (worse for whichever target takes longer) rather than the hop.
 */
const PROBE_CONNS = Number(process.env["BENCH_PROBE_CONNECTIONS"] ?? 1);

export function midpoint(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A script of this folder in its own process (asynchronous: the router may run in this one);
 * its last line of output, parsed. */
async function runScript<T>(script: string, args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, script), ...args],
    { encoding: "utf8" },
  );
  return JSON.parse(stdout.trim().split("\n").pop()!) as T;
}

/** One latency-probe run over every target at once, interleaved. */
export function probe(targets: Targets): Promise<Record<Variant, ProbeResult>> {
  const specs = Object.entries(targets).map(
    ([name, t]) => `${name}=${t.url}${t.host === undefined ? "" : `@${t.host}`}`,
  );
  return runScript("latency-probe.mjs", [
    String(PROBE_RATE),
    String(PROBE_SECONDS),
    String(PROBE_CONNS),
    ...specs,
  ]);
}

/**
 * PROBE_ROUNDS latency probes over the three variants, interleaved; what the router and nginx
 * add is taken per round (measured in the same seconds as direct), then the median.
 */
async function latencyRounds(targets: Targets, lowLatency: boolean): Promise<LatencyResult> {
  const probed: Record<Variant, ProbeResult[]> = { direct: [], router: [], nginx: [] };
  const label = lowLatency ? "low-latency" : "untuned";
  const wake = await runScript<{ p50: number; p99: number }>("wake-jitter.mjs", []);
  console.log(
    `  ${label}: a 0.5 ms sleep wakes late by p50 ${wake.p50.toFixed(3)} ms, p99 ${wake.p99.toFixed(3)} ms`,
  );
  for (let round = 1; round <= PROBE_ROUNDS; round++) {
    const rs = await probe(targets);
    for (const name of Object.keys(targets) as Variant[]) {
      const r = rs[name];
      probed[name].push(r);
      console.log(
        `  probe ${label} ${round} ${name.padEnd(6)} ${PROBE_RATE} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  max ${r.max.toFixed(2)} ms${r.errors ? `  errors ${r.errors}` : ""}`,
      );
    }
  }
  const byP99 = (xs: ProbeResult[]): ProbeResult =>
    [...xs].sort((a, b) => a.p99 - b.p99)[Math.floor(xs.length / 2)]!;
  const added = (name: Variant): number =>
    midpoint(probed[name].map((r, i) => r.p99 - probed.direct[i]!.p99));
  return {
    lowLatency,
    probe: {
      direct: byP99(probed.direct),
      router: byP99(probed.router),
      nginx: byP99(probed.nginx),
    },
    addedP99: added("router"),
    nginxAddedP99: added("nginx"),
    wake,
  };
}

/** The default rounds, then the low-latency ones when idle CPUs can be held ready here. */
export async function measureLatency(
  targets: Targets,
): Promise<{ latency: LatencyResult; lowLatency?: LatencyResult }> {
  const latency = await latencyRounds(targets, false);
  let hold: CpuLatencyHold;
  try {
    hold = holdCpuLatency(0);
  } catch (err) {
    console.log(`  (${(err as Error).message}: no low-latency rounds)`);
    return { latency };
  }
  try {
    return { latency, lowLatency: await latencyRounds(targets, true) };
  } finally {
    hold.release();
  }
}

/** One set of rounds as a table. */
export function printLatency(x: LatencyResult): void {
  console.log(
    `\nlatency at ${PROBE_RATE} req/s each over ${PROBE_CONNS} keep-alive connection(s) each, the three interleaved, ${PROBE_SECONDS} s × ${PROBE_ROUNDS} rounds, ${x.lowLatency ? "idle CPUs held ready (as gantry up --low-latency)" : "CPU idle states untuned"}`,
  );
  console.log(
    `${"variant".padEnd(8)} ${"p50 ms".padStart(9)} ${"p99 ms".padStart(9)} ${"max ms".padStart(9)}   (median round by p99)`,
  );
  for (const [name, p] of Object.entries(x.probe)) {
    console.log(
      `${name.padEnd(8)} ${p.p50.toFixed(3).padStart(9)} ${p.p99.toFixed(3).padStart(9)} ${p.max.toFixed(2).padStart(9)}`,
    );
  }
  console.log(
    `added p99 (median of per-round differences): router ${x.addedP99.toFixed(2)} ms, nginx ${x.nginxAddedP99.toFixed(2)} ms; a 0.5 ms sleep woke late by ${x.wake.p99.toFixed(2)} ms at p99`,
  );
}

/** nginx's figure beside the router's, the machine's wake-up lateness, and the low-latency run. */
export function latencyNote(latency: LatencyResult, lowLatency?: LatencyResult): string {
  const ms = (x: number): string => `${x.toFixed(2)}ms`;
  const tuned =
    lowLatency === undefined
      ? ""
      : `; --low-latency: router ${ms(lowLatency.addedP99)} nginx ${ms(lowLatency.nginxAddedP99)} wake-p99 ${ms(lowLatency.wake.p99)}`;
  return `(nginx ${ms(latency.nginxAddedP99)}; wake-p99 ${ms(latency.wake.p99)}${tuned})`;
}
