/**
 * The 200 resources every tool converges in `npm run bench:converge`, written once here and
 * translated by gantry.ts, ansible.ts and puppet.ts. Paths are relative to the run's target
 * root (a var: `root`), so each first run starts from a fresh empty directory.
 */
export type BenchResource =
  | { kind: "directory"; path: string }
  /** `content` holds `@port@` where the tool's own `port` var goes. */
  | { kind: "file"; path: string; content: string }
  /** `template` names one of BENCH_TEMPLATES. */
  | { kind: "template"; path: string; template: string }
  /** `touch <creates>`, guarded by `creates`: runs once. */
  | { kind: "exec"; label: string; creates: string };

export const TOUCH = "/usr/bin/touch";

export const BENCH_VARS = { port: 8080, servers: ["alpha", "beta", "gamma"] };

const FILES = 80;
const TEMPLATES = 50;
/** files/, templates/, dirs/ and dirs/d0…d56. */
const DIRS = 60;
const EXECS = 10;

export interface BenchTemplate {
  name: string;
  /** The template's header line; the body loops over `servers` with `port`. */
  title: string;
}

export const BENCH_TEMPLATES: BenchTemplate[] = Array.from({ length: TEMPLATES }, (_, i) => ({
  name: `t${i}`,
  title: `# site ${i}`,
}));

/** What every tool must have produced after a first run, for the check after it. */
export const EXPECTED = { directories: DIRS, files: FILES + TEMPLATES + EXECS };

export function benchResources(): BenchResource[] {
  const out: BenchResource[] = [
    { kind: "directory", path: "files" },
    { kind: "directory", path: "templates" },
    { kind: "directory", path: "dirs" },
  ];
  for (let i = 0; out.length < DIRS; i++) out.push({ kind: "directory", path: `dirs/d${i}` });
  for (let i = 0; i < FILES; i++)
    out.push({ kind: "file", path: `files/f${i}.conf`, content: `name=file${i}\nport=@port@\n` });
  for (const t of BENCH_TEMPLATES)
    out.push({ kind: "template", path: `templates/${t.name}.conf`, template: t.name });
  for (let i = 0; i < EXECS; i++)
    out.push({ kind: "exec", label: `seed-${i}`, creates: `dirs/d${i}/seeded` });
  return out;
}
