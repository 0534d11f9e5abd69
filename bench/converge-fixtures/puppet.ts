import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_TEMPLATES, BENCH_VARS, TOUCH, benchResources } from "./spec.js";

/** A Puppet string literal (double-quoted, so `${…}` interpolates). */
const str = (s: string): string => JSON.stringify(s).replace(/\$(?!\{)/g, "\\$");

/** The template body in ERB, rendering exactly what the Jinja one does. */
export function erbTemplate(title: string): string {
  return `${title}\n<% @servers.each do |s| -%>server <%= s %>:<%= @port %>;\n<% end -%>`;
}

/**
 * A Puppet manifest for the 200 resources (file, file with template(), exec with `creates`).
 * The target root comes from the fact `bench_root` (FACTER_bench_root in the environment).
 */
export function writePuppetManifest(dir: string): string {
  mkdirSync(join(dir, "templates"), { recursive: true });
  for (const t of BENCH_TEMPLATES)
    writeFileSync(join(dir, "templates", `${t.name}.erb`), erbTemplate(t.title));
  const at = (path: string): string => `"\${root}/${path}"`;
  const lines = [
    `$root = $facts['bench_root']`,
    `$port = ${BENCH_VARS.port}`,
    `$servers = [${BENCH_VARS.servers.map((s) => `'${s}'`).join(", ")}]`,
  ];
  for (const r of benchResources()) {
    switch (r.kind) {
      case "directory":
        lines.push(`file { ${at(r.path)}: ensure => directory, mode => '0755' }`);
        break;
      case "file": {
        const content = str(r.content).replace("@port@", "${port}");
        lines.push(`file { ${at(r.path)}: ensure => file, content => ${content}, mode => '0644' }`);
        break;
      }
      case "template": {
        const src = str(join(dir, "templates", `${r.template}.erb`));
        lines.push(
          `file { ${at(r.path)}: ensure => file, content => template(${src}), mode => '0644' }`,
        );
        break;
      }
      case "exec":
        lines.push(
          `exec { '${r.label}': command => ['${TOUCH}', ${at(r.creates)}], creates => ${at(r.creates)} }`,
        );
        break;
    }
  }
  const path = join(dir, "bench.pp");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}
