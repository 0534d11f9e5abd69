import { join } from "node:path";
import { writeAnsiblePlaybook } from "./ansible.js";
import { writeGantryStates } from "./gantry.js";
import { writePuppetManifest } from "./puppet.js";

/** What one run of a tool reported: resources it changed, and whether anything failed. */
export interface Outcome {
  changed: number;
  failed: boolean;
  /** A line for the error message when the run did not do what it should. */
  detail: string;
}

/** One tool in the bench: written once into its own dir, then run against target roots. */
export interface BenchTool {
  name: "gantry" | "ansible" | "puppet";
  /** argv and env of one converge of `target` (an absolute dir). */
  command(target: string): { argv: string[]; env: NodeJS.ProcessEnv };
  outcome(code: number | null, stdout: string, stderr: string): Outcome;
}

const tail = (s: string): string => s.trim().split("\n").slice(-15).join("\n");

/** Gantry: `bin/gantry converge --local --json`, read from its summary. */
export function gantryTool(dir: string, bin: string): BenchTool {
  const states = join(dir, "states");
  const { state } = writeGantryStates(states);
  return {
    name: "gantry",
    command: (target) => ({
      argv: [
        bin,
        "converge",
        "--local",
        "--states",
        states,
        state,
        "--json",
        "-e",
        `root=${target}`,
      ],
      env: process.env,
    }),
    outcome(code, stdout, stderr) {
      try {
        const s = (JSON.parse(stdout) as { summary: { changed: number; failed: number } }).summary;
        return { changed: s.changed, failed: code !== 0 || s.failed > 0, detail: tail(stderr) };
      } catch {
        return { changed: -1, failed: true, detail: tail(`${stdout}\n${stderr}`) };
      }
    },
  };
}

/** The counts of the PLAY RECAP line of ansible-playbook. */
export function parseAnsibleRecap(stdout: string): { changed: number; failed: number } | undefined {
  const m = /changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(stdout);
  return m ? { changed: Number(m[1]), failed: Number(m[2]) + Number(m[3]) } : undefined;
}

/** Ansible: `ansible-playbook -i localhost, -c local`, pipelining on, facts off. */
export function ansibleTool(dir: string): BenchTool {
  const playbook = writeAnsiblePlaybook(join(dir, "ansible"));
  const env = {
    ...process.env,
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_PIPELINING: "true",
    ANSIBLE_LOCALHOST_WARNING: "false",
    ANSIBLE_INVENTORY_UNPARSED_WARNING: "false",
    ANSIBLE_PYTHON_INTERPRETER: "/usr/bin/python3",
    ANSIBLE_RETRY_FILES_ENABLED: "false",
    ANSIBLE_LOCAL_TEMP: join(dir, "ansible", "tmp"),
  };
  return {
    name: "ansible",
    command: (target) => ({
      argv: [
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        `root=${target}`,
        playbook,
      ],
      env,
    }),
    outcome(code, stdout, stderr) {
      const recap = parseAnsibleRecap(stdout);
      if (recap === undefined)
        return { changed: -1, failed: true, detail: tail(`${stdout}\n${stderr}`) };
      return {
        changed: recap.changed,
        failed: code !== 0 || recap.failed > 0,
        detail: tail(stdout),
      };
    },
  };
}

/** The resources `puppet apply` changed: distinct resources named in `Notice: /Stage[main]/…` lines. */
export function puppetChanged(output: string): number {
  const changed = new Set<string>();
  for (const m of output.matchAll(/^Notice: \/Stage\[main\]\/Main\/(\w+\[[^\]]*\])\//gm))
    changed.add(m[1]!);
  return changed.size;
}

/** Puppet: real `puppet apply` (with --detailed-exitcodes: 0 no change, 2 changes, 4/6 failures). */
export function puppetTool(dir: string): BenchTool {
  const manifest = writePuppetManifest(join(dir, "puppet"));
  return {
    name: "puppet",
    command: (target) => ({
      argv: ["puppet", "apply", "--color=false", "--detailed-exitcodes", manifest],
      env: { ...process.env, FACTER_bench_root: target },
    }),
    outcome(code, stdout, stderr) {
      const changed = puppetChanged(`${stdout}\n${stderr}`);
      const failed = code !== 0 && code !== 2;
      return { changed, failed, detail: tail(`${stdout}\n${stderr}`) };
    },
  };
}
