/**
 * `npm run bench:converge` — converge in one run:
 *
 * - local: the same 200 resources (bench/converge-fixtures: 60 directories, 80 files with a var,
 *   50 templates looping over a list var, 10 execs guarded by `creates`) through Gantry
 *   (`bin/gantry converge --local`, built from dist/: run `npm run build` first), Ansible
 *   (Debian's, `-c local`, pipelining) and Puppet (Debian's, a real `puppet apply`). Each round
 *   converges a fresh empty target dir (the first run) and then converges it again (the no-op
 *   run); BENCH_RUNS rounds (default 3), BENCH_ANSIBLE_RUNS for Ansible (default 2: a first run
 *   takes minutes; 0 leaves Ansible out). The figures are medians of wall-clock time, plus CPU time of the tool's
 *   processes. Facts: Ansible's are off (gather_facts: false); Gantry gathers its few facts and
 *   Puppet runs Facter on every run — neither can be turned off.
 * - every run is checked: the first changes all 200 resources and leaves the same tree (paths,
 *   modes, contents) for every tool; the no-op run changes 0 (Gantry summary.changed, Ansible's
 *   recap changed=0, Puppet's exit code 0 under --detailed-exitcodes).
 * - ssh10: bench/converge-ssh.ts (10 loopback sshd hosts, Gantry against Ansible); BENCH_SSH=0
 *   leaves it out.
 *
 * Last line: `converge: noop ansible/gantry=<r>x puppet/gantry=<r>x ssh10 ansible/gantry=<r>x`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXPECTED, benchResources } from "./converge-fixtures/spec.js";
import { treeSummary } from "./converge-fixtures/tree.js";
import { ansibleTool, gantryTool, puppetTool, type BenchTool } from "./converge-fixtures/tools.js";

const RUNS = Number(process.env["BENCH_RUNS"] ?? 3);
const ANSIBLE_RUNS = Number(process.env["BENCH_ANSIBLE_RUNS"] ?? 2);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "gantry");

interface Timing {
  wallMs: number;
  cpuMs: number;
}

/** Install Debian's ansible and puppet when missing (idempotent). */
function ensureTools(): void {
  const missing = ["ansible-playbook", "puppet"].filter(
    (c) => spawnSync("sh", ["-c", 'command -v "$1"', "sh", c]).status !== 0,
  );
  if (missing.length === 0) return;
  console.log(`installing ansible and puppet (missing: ${missing.join(", ")})…`);
  const r = spawnSync("apt-get", ["install", "-y", "ansible", "puppet"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.status !== 0) throw new Error("apt-get install -y ansible puppet failed");
}

/** CPU time (ms) of this process's reaped children so far: cutime + cstime of /proc/self/stat. */
function childrenCpuMs(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // After the ")" that ends comm, fields start at the 3rd: cutime and cstime are the 16th and 17th.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Run one converge and time it; stdout and stderr are kept for the checks. */
function timedRun(
  tool: BenchTool,
  target: string,
): Promise<Timing & { code: number | null; stdout: string; stderr: string }> {
  const { argv, env } = tool.command(target);
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const p = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    p.once("error", reject);
    p.once("close", (code) =>
      resolve({
        wallMs: performance.now() - t0,
        cpuMs: childrenCpuMs() - cpu0,
        code,
        stdout,
        stderr,
      }),
    );
  });
}

/** Converge `target` and check that `tool` changed exactly `expected` resources. */
async function converge(tool: BenchTool, target: string, expected: number): Promise<Timing> {
  const r = await timedRun(tool, target);
  const o = tool.outcome(r.code, r.stdout, r.stderr);
  if (o.failed || o.changed !== expected)
    throw new Error(
      `${tool.name}: expected ${expected} changed, got ${o.changed}${o.failed ? " and a failure" : ""} (exit ${r.code})\n${o.detail}`,
    );
  return { wallMs: r.wallMs, cpuMs: r.cpuMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const secs = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)}s` : "n/a");
const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) ? `${(a / b).toFixed(1)}x` : "n/a";

/** The ssh10 figure from bench/converge-ssh.ts, or n/a when it is missing or fails. */
async function ssh10(): Promise<string> {
  if (process.env["BENCH_SSH"] === "0") return "n/a";
  if (!existsSync(join(ROOT, "bench", "converge-ssh.ts"))) return "n/a";
  try {
    const m = (await import("./converge-ssh.js")) as {
      benchSsh10?: () => Promise<{ gantryMs: number; ansibleMs: number }>;
    };
    if (m.benchSsh10 === undefined) return "n/a";
    const { gantryMs, ansibleMs } = await m.benchSsh10();
    console.log(`ssh10 no-op run: gantry ${secs(gantryMs)}  ansible ${secs(ansibleMs)}`);
    return ratio(ansibleMs, gantryMs);
  } catch (err) {
    console.log(`ssh10 failed: ${err instanceof Error ? err.message : String(err)}`);
    return "n/a";
  }
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js")))
    throw new Error("bin/gantry runs dist/: run `npm run build` first");
  ensureTools();
  const work = mkdtempSync(join(tmpdir(), "gantry-bench-converge-"));
  try {
    const total = benchResources().length;
    const tools = [gantryTool(work, BIN), puppetTool(work), ansibleTool(work)];
    const times = new Map(
      tools.map((t) => [t.name, { first: [] as Timing[], noop: [] as Timing[] }]),
    );
    let reference: string | undefined;
    console.log(
      `converge: ${total} resources (${EXPECTED.directories} directories, ${EXPECTED.files} files from file/template/exec), ` +
        `${RUNS} rounds (ansible ${Math.min(RUNS, ANSIBLE_RUNS)})`,
    );
    for (let round = 0; round < RUNS; round++) {
      for (const tool of tools) {
        if (tool.name === "ansible" && round >= ANSIBLE_RUNS) continue;
        const target = join(work, "targets", `${tool.name}-${round}`);
        mkdirSync(target, { recursive: true });
        const first = await converge(tool, target, total);
        const tree = treeSummary(target);
        if (tree.directories !== EXPECTED.directories || tree.files !== EXPECTED.files)
          throw new Error(
            `${tool.name}: made ${tree.directories} directories and ${tree.files} files, expected ${EXPECTED.directories} and ${EXPECTED.files}`,
          );
        reference ??= tree.digest;
        if (tree.digest !== reference)
          throw new Error(`${tool.name}: the tree differs from the first tool's (${target})`);
        const noop = await converge(tool, target, 0);
        times.get(tool.name)!.first.push(first);
        times.get(tool.name)!.noop.push(noop);
        console.log(
          `  round ${round + 1} ${tool.name.padEnd(7)} first ${secs(first.wallMs)} (cpu ${secs(first.cpuMs)})  no-op ${secs(noop.wallMs)} (cpu ${secs(noop.cpuMs)})`,
        );
        rmSync(target, { recursive: true, force: true });
      }
    }
    const med = (name: string, which: "first" | "noop", f: keyof Timing): number =>
      median(times.get(name as BenchTool["name"])![which].map((t) => t[f]));
    console.log("");
    console.log("tool     runs  first run   (cpu)     no-op run   (cpu)");
    for (const t of tools) {
      const n = times.get(t.name)!.first.length;
      console.log(
        `${t.name.padEnd(8)} ${String(n).padStart(4)}  ${secs(med(t.name, "first", "wallMs")).padStart(9)}  ${secs(med(t.name, "first", "cpuMs")).padStart(8)}  ${secs(med(t.name, "noop", "wallMs")).padStart(9)}  ${secs(med(t.name, "noop", "cpuMs")).padStart(8)}`,
      );
    }
    const g = med("gantry", "noop", "wallMs");
    const a = med("ansible", "noop", "wallMs");
    const p = med("puppet", "noop", "wallMs");
    console.log(
      `no-op cpu: ansible/gantry=${ratio(med("ansible", "noop", "cpuMs"), med("gantry", "noop", "cpuMs"))} puppet/gantry=${ratio(med("puppet", "noop", "cpuMs"), med("gantry", "noop", "cpuMs"))}`,
    );
    console.log("");
    const ssh = await ssh10();
    console.log(
      `converge: noop ansible/gantry=${ratio(a, g)} puppet/gantry=${ratio(p, g)} ssh10 ansible/gantry=${ssh}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
