import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { BENCH_TEMPLATES, BENCH_VARS, TOUCH, benchResources } from "./spec.js";

/** The template body in Jinja/nunjucks: a header and a loop over `servers`. */
function jinjaTemplate(title: string): string {
  return `${title}\n{% for s in servers %}server {{ s }}:{{ port }};\n{% endfor %}`;
}

/** The bench templates as `DIR/templates/NAME.j2` (Gantry's and Ansible's shared syntax). */
export function writeJinjaTemplates(dir: string): void {
  mkdirSync(join(dir, "templates"), { recursive: true });
  for (const t of BENCH_TEMPLATES)
    writeFileSync(join(dir, "templates", `${t.name}.j2`), jinjaTemplate(t.title));
}

/** A Gantry states dir holding state `bench` (the 200 resources) and its templates. */
export function writeGantryStates(dir: string): { state: string } {
  writeJinjaTemplates(dir);
  const at = (path: string): string => `{{ root }}/${path}`;
  const resources = benchResources().map((r) => {
    switch (r.kind) {
      case "directory":
        return { directory: at(r.path), mode: "0755" };
      case "file":
        return {
          file: at(r.path),
          content: r.content.replace("@port@", "{{ port }}"),
          mode: "0644",
        };
      case "template":
        return { template: at(r.path), source: `templates/${r.template}.j2`, mode: "0644" };
      case "exec":
        return { exec: r.label, command: [TOUCH, at(r.creates)], creates: at(r.creates) };
    }
  });
  writeFileSync(join(dir, "bench.yaml"), stringify({ vars: BENCH_VARS, resources }));
  return { state: "bench" };
}
