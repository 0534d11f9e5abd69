/**
 * ssh10: the same resources on 10 sshd hosts on loopback, through `gantry converge --inventory`
 * (forks 10) and through Debian's ansible-playbook (forks 10, pipelining, ControlPersist), each
 * after a first run that converged everything: the time of the no-op run is what counts.
 *
 * Resources per host (BENCH_SSH_RESOURCES, default 200, a multiple of 4): a quarter each of
 * directories, files, templates, and execs guarded by `creates`.
 * Run alone: `node --import tsx bench/converge-ssh.ts`; bench/converge.ts calls benchSsh10().
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Output } from "../src/output/output.js";
import { inventoryOptions } from "../src/converge/ssh/cli-options.js";
import { convergeInventory } from "../src/converge/ssh/cli.js";
import { inventorySshSection, startSshHosts, type SshHosts } from "../test/helpers/sshd.js";

const HOSTS = 10;
const RESOURCES = Number(process.env["BENCH_SSH_RESOURCES"] ?? 200);

/** Directories, files, templates and guarded execs under `root` (a var), as a Gantry state. */
function gantryStates(dir: string, n: number): void {
  mkdirSync(join(dir, "templates"), { recursive: true });
  writeFileSync(join(dir, "top.yaml"), "bench: [bench]\n");
  const r: string[] = ["resources:"];
  for (let i = 0; i < n; i++) {
    r.push(`  - directory: "{{ root }}/d${i}"`, '    mode: "0755"');
    r.push(
      `  - file: "{{ root }}/d${i}/file.txt"`,
      `    content: "file ${i} on {{ node_name }}\\n"`,
    );
    r.push(`  - template: "{{ root }}/d${i}/app.conf"`, `    source: templates/t${i}.j2`);
    r.push(
      `  - exec: seed-${i}`,
      `    command: [touch, "{{ root }}/d${i}/.seeded"]`,
      `    creates: "{{ root }}/d${i}/.seeded"`,
    );
    writeFileSync(join(dir, "templates", `t${i}.j2`), template(i));
  }
  writeFileSync(join(dir, "bench.yaml"), r.join("\n") + "\n");
}

function template(i: number): string {
  return `# app ${i}\nhost = {{ node_name }}\nworkers = {{ workers }}\nport = ${8000 + i}\n`;
}

/** The same, as an Ansible playbook. */
function ansiblePlaybook(dir: string, n: number): string {
  mkdirSync(join(dir, "templates"), { recursive: true });
  const t: string[] = ["- hosts: all", "  gather_facts: false", "  tasks:"];
  for (let i = 0; i < n; i++) {
    t.push(`    - file: { path: "{{ root }}/d${i}", state: directory, mode: "0755" }`);
    t.push(
      `    - copy: { dest: "{{ root }}/d${i}/file.txt", content: "file ${i} on {{ node_name }}\\n" }`,
    );
    t.push(`    - template: { src: templates/t${i}.j2, dest: "{{ root }}/d${i}/app.conf" }`);
    t.push(
      `    - command: { argv: [touch, "{{ root }}/d${i}/.seeded"], creates: "{{ root }}/d${i}/.seeded" }`,
    );
    writeFileSync(join(dir, "templates", `t${i}.j2`), template(i));
  }
  const file = join(dir, "playbook.yaml");
  writeFileSync(file, t.join("\n") + "\n");
  return file;
}

const silent: Output = { out: () => {}, err: () => {}, tty: false };

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child.stderr.on("data", (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}:\n${out}`)),
    );
  });
}

async function gantry(ssh: SshHosts, dir: string, bundle: string): Promise<number> {
  const states = join(dir, "gantry-states");
  gantryStates(states, RESOURCES / 4);
  const inventory = join(dir, "inventory.yaml");
  writeFileSync(
    inventory,
    [
      inventorySshSection(ssh),
      "hosts:",
      ...ssh.hosts.map(
        (h) =>
          `  ${h.name}: { address: ${h.address}, port: ${h.port}, roles: [bench], vars: { root: ${join(dir, "gantry", h.name)}, node_name: ${h.name}, workers: 4 } }`,
      ),
      "",
    ].join("\n"),
  );
  const once = async (): Promise<void> => {
    const code = await convergeInventory(
      inventoryOptions(inventory, states, { forks: 10 }),
      silent,
      { runnerBundle: bundle },
    );
    if (code !== 0) throw new Error(`gantry converge --inventory exited ${code}`);
  };
  await once();
  return timed(once);
}

async function ansible(ssh: SshHosts, dir: string): Promise<number> {
  const adir = join(dir, "ansible");
  const playbook = ansiblePlaybook(adir, RESOURCES / 4);
  const inventory = join(adir, "hosts.yaml");
  const common = ssh.clientOptions.map((o) => `-o ${o}`).join(" ");
  writeFileSync(
    inventory,
    [
      "all:",
      "  hosts:",
      ...ssh.hosts.map((h) =>
        [
          `    ${h.name}:`,
          `      ansible_host: ${h.address}`,
          `      ansible_port: ${h.port}`,
          "      ansible_user: root",
          `      ansible_ssh_private_key_file: ${ssh.identityFile}`,
          `      ansible_ssh_common_args: "${common}"`,
          "      ansible_python_interpreter: /usr/bin/python3",
          `      root: ${join(dir, "ansible-out", h.name)}`,
          `      node_name: ${h.name}`,
          "      workers: 4",
        ].join("\n"),
      ),
      "",
    ].join("\n"),
  );
  const cfg = join(adir, "ansible.cfg");
  writeFileSync(
    cfg,
    [
      "[defaults]",
      "forks = 10",
      "host_key_checking = False",
      "retry_files_enabled = False",
      "",
      "[ssh_connection]",
      "pipelining = True",
      "ssh_args = -o ControlMaster=auto -o ControlPersist=60s",
      `control_path_dir = ${join(adir, "cp")}`,
      "",
    ].join("\n"),
  );
  const env = { ...process.env, ANSIBLE_CONFIG: cfg, ANSIBLE_LOCAL_TEMP: join(adir, "tmp") };
  const once = (): Promise<void> => run("ansible-playbook", ["-i", inventory, playbook], env);
  await once();
  return timed(once);
}

/** The ssh10 figures: no-op run times in ms of gantry and ansible over 10 loopback hosts. */
export async function benchSsh10(): Promise<{ gantryMs: number; ansibleMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), "gantry-bench-ssh-"));
  const ssh = await startSshHosts(HOSTS);
  try {
    const bundle = join(dir, "converge-runner.mjs");
    const script = fileURLToPath(new URL("../scripts/bundle-runner.mjs", import.meta.url));
    execFileSync(process.execPath, [script, "--out", bundle]);
    const gantryMs = await gantry(ssh, dir, bundle);
    const ansibleMs = await ansible(ssh, dir);
    return { gantryMs, ansibleMs };
  } finally {
    await ssh.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { gantryMs, ansibleMs } = await benchSsh10();
  console.log(`ssh10 (${HOSTS} hosts × ${RESOURCES} resources, no-op run)`);
  console.log(`  gantry   ${(gantryMs / 1000).toFixed(2)} s`);
  console.log(`  ansible  ${(ansibleMs / 1000).toFixed(2)} s`);
  console.log(`converge-ssh: ssh10 ansible/gantry=${(ansibleMs / gantryMs).toFixed(1)}x`);
}
