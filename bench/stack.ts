/**
 * `npm run bench:stack` — the stack as code, Gantry beside Terraform, same size, one run.
 *
 * - Terraform 1.11 (on the PATH; no provider download: `terraform_data` is built in), local
 *   state: 1,000 `terraform_data` resources, each with a three-field `input`. Timed: the first
 *   `terraform apply -auto-approve`, then a `terraform plan` that finds nothing to do.
 * - Gantry: 1,000 stack items in one gantry.yaml (keys, services and a few apps) applied to a
 *   fresh `gantry up` with the real CLI: `gantry apply --auto-approve`, then a no-op
 *   `gantry plan`. Both sides are timed as whole processes, start-up included.
 * - push-to-synced: the same folder as a git repo pushed to the stack repo Gantry hosts; then a
 *   commit that changes one key is pushed, timed until the key's new value reads back through
 *   the API (median of BENCH_PUSHES pushes, 3 s apart).
 *
 * Gantry runs from dist/ (`npm run build` first). BENCH_CPU_PROF=DIR writes V8 CPU profiles of
 * the server and of the CLI runs there. The last line is the summary issues and docs quote.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGantry, type GantryProcess } from "../test/helpers/gantry.js";
import { git } from "../test/helpers/paas.js";

const ITEMS = Number(process.env["BENCH_ITEMS"] ?? 1000);
const PUSHES = Number(process.env["BENCH_PUSHES"] ?? 5);
const CPU_PROF = process.env["BENCH_CPU_PROF"];
const APPS = 5;
const SERVICES = 95;

interface Timed {
  secs: number;
  code: number;
  out: string;
}

/** Run a program to its end; its time, exit code and output. */
function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const p = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (out += c.toString()));
    p.on("error", reject);
    p.on("close", (code) =>
      resolve({ secs: Number(process.hrtime.bigint() - start) / 1e9, code: code ?? -1, out }),
    );
  });
}

function must(what: string, r: Timed, codes = [0]): Timed {
  if (!codes.includes(r.code))
    throw new Error(`${what} exited with ${r.code}:\n${r.out.split("\n").slice(-30).join("\n")}`);
  return r;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, d = 1): string => n.toFixed(d);

/** 1,000 `terraform_data` resources with a three-field input. */
function terraformConfig(): string {
  let tf = "";
  for (let i = 0; i < ITEMS; i++)
    tf += `resource "terraform_data" "r${i}" {\n  input = {\n    name  = "item-${i}"\n    port  = ${8000 + i}\n    owner = "team-${i % 10}"\n  }\n}\n`;
  return tf;
}

/** The same number of stack items: a few apps, some services, the rest keys. */
function stackYaml(port0 = "8000"): string {
  const lines = ["stack:", "  name: bench", "apps:"];
  for (let i = 0; i < APPS; i++)
    lines.push(
      `  app-${i}:`,
      `    formation: {web: 0}`,
      `    config: {MODE: bench, SLOT: "${i}"}`,
      `    healthPath: /up`,
    );
  lines.push("services:");
  for (let i = 0; i < SERVICES; i++)
    lines.push(
      `  svc-${i}:`,
      `    node: ext-${i % 10}`,
      `    address: 10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      `    port: ${9000 + i}`,
      `    tags: [bench, team-${i % 10}]`,
    );
  lines.push("kv:");
  for (let i = 0; i < ITEMS - APPS - SERVICES; i++)
    lines.push(`  bench/item-${i}: "${i === 0 ? port0 : `value-${i}`}"`);
  return lines.join("\n") + "\n";
}

async function terraform(work: string): Promise<{ apply: number; plan: number }> {
  const dir = join(work, "tf");
  mkdirSync(dir);
  writeFileSync(join(dir, "main.tf"), terraformConfig());
  const env = {
    TF_CLI_CONFIG_FILE: "/dev/null",
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
    CHECKPOINT_DISABLE: "1",
  };
  must("terraform init", await timed("terraform", ["init", "-input=false"], dir, env));
  process.stderr.write(`terraform apply of ${ITEMS} terraform_data…\n`);
  const apply = must(
    "terraform apply",
    await timed("terraform", ["apply", "-auto-approve", "-input=false"], dir, env),
  );
  process.stderr.write(`terraform plan (no change)…\n`);
  const plan = must(
    "terraform plan",
    await timed("terraform", ["plan", "-input=false", "-detailed-exitcode"], dir, env),
  );
  return { apply: apply.secs, plan: plan.secs };
}

/** The gantry CLI as a timed process (with a CPU profile when asked). */
function gantry(g: GantryProcess, args: string[], cwd: string): Promise<Timed> {
  const node = CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`];
  return timed(
    process.execPath,
    [...node, join(import.meta.dirname, "../bin/gantry"), ...args],
    cwd,
    {
      ...g.env,
      NO_COLOR: "1",
    },
  );
}

async function gantrySide(
  work: string,
  server: GantryProcess,
): Promise<{ apply: number; plan: number; push: number[] }> {
  const dir = join(work, "stack");
  mkdirSync(dir);
  writeFileSync(join(dir, "gantry.yaml"), stackYaml());
  process.stderr.write(`gantry apply of ${ITEMS} stack items…\n`);
  const apply = must("gantry apply", await gantry(server, ["apply", dir, "--auto-approve"], dir));
  process.stderr.write(`gantry plan (no change)…\n`);
  const plan = must("gantry plan", await gantry(server, ["plan", dir, "--detailed-exitcode"], dir));
  if (!/No changes/.test(plan.out))
    throw new Error(`gantry plan after apply found changes:\n${plan.out}`);

  // The same folder as the stack repo: the first push syncs to it (nothing to change).
  const remote = `${server.url.replace("://", `://x:${server.token}@`)}/git/_stack.git`;
  await git(["init", "-q", "-b", "main", dir], work);
  await git(["add", "-A"], dir);
  await git(["commit", "-q", "-m", "the bench stack"], dir);
  const first = await git(["push", remote, "main"], dir);
  if (first.code !== 0) throw new Error(`the first push failed:\n${first.stderr}`);
  const push: number[] = [];
  for (let i = 1; i <= PUSHES; i++) {
    // Pushes a few seconds apart, as people make them: the drift loop's re-plan after the last
    // sync is not left competing with this one for the CPU.
    await new Promise((r) => setTimeout(r, 3000));
    const value = String(8000 + i);
    writeFileSync(join(dir, "gantry.yaml"), stackYaml(value));
    await git(["commit", "-q", "-am", `bench/item-0 = ${value}`], dir);
    const start = process.hrtime.bigint();
    const r = await git(["push", remote, "main"], dir);
    if (r.code !== 0) throw new Error(`push ${i} failed:\n${r.stderr}`);
    await untilValue(server, "bench/item-0", value);
    push.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { apply: apply.secs, plan: plan.secs, push };
}

/** Read the key through the API until it has `value`. */
async function untilValue(g: GantryProcess, key: string, value: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${g.url}/v1/kv/${key}?raw`, {
      headers: { authorization: `Bearer ${g.token}` },
    });
    if (res.ok && (await res.text()) === value) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${key} did not become ${value} within 60 s`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "gantry-bench-stack-"));
  let server: GantryProcess | undefined;
  try {
    const tf = await terraform(work);
    process.stderr.write(
      `terraform: apply ${fmt(tf.apply, 2)} s, no-op plan ${fmt(tf.plan, 2)} s\n`,
    );
    server = await startGantry({
      ...(CPU_PROF === undefined ? {} : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] }),
    });
    const g = await gantrySide(work, server);
    const push = median(g.push);
    console.log(`${ITEMS} items; whole processes, start-up included (seconds)`);
    console.log(
      `  terraform 1.11  apply ${fmt(tf.apply, 2).padStart(7)}   no-op plan ${fmt(tf.plan, 2)}`,
    );
    console.log(
      `  gantry          apply ${fmt(g.apply, 2).padStart(7)}   no-op plan ${fmt(g.plan, 2)}`,
    );
    console.log(
      `  push-to-synced (one key changed, git push until the API reads it): median ${fmt(push, 2)} s of ${g.push.map((p) => fmt(p, 2)).join(" ")}`,
    );
    console.log(
      `stack: plan${ITEMS} terraform/gantry=${fmt(tf.plan / g.plan)}x apply${ITEMS} terraform/gantry=${fmt(tf.apply / g.apply)}x push-to-synced=${fmt(push, 2)}s`,
    );
  } finally {
    await server?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`bench:stack failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
