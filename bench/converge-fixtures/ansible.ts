import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { writeJinjaTemplates } from "./gantry.js";
import { BENCH_VARS, TOUCH, benchResources } from "./spec.js";

/**
 * An Ansible playbook for the 200 resources (file, copy, template, command with `creates`),
 * facts off (`gather_facts: false`). Returns the playbook's path.
 */
export function writeAnsiblePlaybook(dir: string): string {
  writeJinjaTemplates(dir);
  const at = (path: string): string => `{{ root }}/${path}`;
  const tasks = benchResources().map((r) => {
    switch (r.kind) {
      case "directory":
        return { file: { path: at(r.path), state: "directory", mode: "0755" } };
      case "file":
        return {
          copy: {
            dest: at(r.path),
            content: r.content.replace("@port@", "{{ port }}"),
            mode: "0644",
          },
        };
      case "template":
        return {
          template: {
            src: join(dir, "templates", `${r.template}.j2`),
            dest: at(r.path),
            mode: "0644",
          },
        };
      case "exec":
        return { name: r.label, command: { argv: [TOUCH, at(r.creates)], creates: at(r.creates) } };
    }
  });
  const play = [{ hosts: "all", gather_facts: false, vars: BENCH_VARS, tasks }];
  const path = join(dir, "bench.yml");
  writeFileSync(path, stringify(play));
  return path;
}
