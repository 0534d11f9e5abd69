/**
 * The inventory of `gantry converge --inventory FILE`: hosts with roles, vars and labels, groups
 * of hosts and of groups, and ssh defaults. Parsed with line numbers so every error names
 * `file:line: field`, and resolved here (pure) into one flat entry per host.
 *
 * ```yaml
 * ssh: { user: root, identityFile: ~/.ssh/id_ed25519, options: ["ConnectTimeout=5"] }
 * hosts:
 *   web1: { address: 10.0.0.5, port: 22, roles: [web], vars: { workers: 4 } }
 *   db1:
 * groups:
 *   web: { hosts: [web1], vars: { tier: web } }
 *   prod: { children: [web], hosts: [db1], vars: { env: prod } }
 * ```
 * Vars precedence: outer group < inner group < host (a group's depth is its longest chain of
 * parents; groups at one depth apply in name order). Roles and labels: the union of every
 * group the host is in, and its own.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import * as z from "zod";
import { GantryError } from "../errors.js";
import type { SourceRef } from "./types.js";
import { fieldName, YamlSource, type Path } from "./yaml-source.js";

/** An inventory that cannot be used; the message starts with `file:line: field:`. */
export class InventoryError extends GantryError {
  constructor(source: SourceRef, message: string, field?: string) {
    const what = field === undefined ? "" : `${field}: `;
    super("invalid_inventory", `${source.file}:${source.line}: ${what}${message}`, {
      status: 400,
      ...(field === undefined ? {} : { field }),
    });
  }
}

/** One host, with its groups applied. */
export interface InventoryHost {
  name: string;
  /** Where ssh connects: `address`, or the host's name. */
  address: string;
  port: number | undefined;
  user: string | undefined;
  roles: string[];
  vars: Record<string, unknown>;
  labels: Record<string, string>;
  become: boolean;
  /** Every group the host is in, directly or through children, outermost first. */
  groups: string[];
}

export interface SshDefaults {
  user?: string | undefined;
  port?: number | undefined;
  identityFile?: string | undefined;
  /** `-o` options for every host: `ConnectTimeout=5`. */
  options: string[];
}

export interface Inventory {
  hosts: InventoryHost[];
  ssh: SshDefaults;
}

// Names, addresses and users reach ssh's argv: none may look like an option.
const name = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[^-\s]\S*$/, "must not start with - or hold spaces");
const vars = z.record(z.string(), z.unknown());
const labels = z.record(z.string(), z.string());
const port = z
  .number()
  .int()
  .min(1, "must be a port (1-65535)")
  .max(65535, "must be a port (1-65535)");

const hostSchema = z.strictObject({
  address: name.optional(),
  port: port.optional(),
  user: name.optional(),
  roles: z.array(name).optional(),
  vars: vars.optional(),
  labels: labels.optional(),
  become: z.boolean().optional(),
});

const groupSchema = z.strictObject({
  hosts: z.array(name).optional(),
  children: z.array(name).optional(),
  roles: z.array(name).optional(),
  vars: vars.optional(),
  labels: labels.optional(),
});

const sshSchema = z.strictObject({
  user: name.optional(),
  port: port.optional(),
  identityFile: z.string().min(1).optional(),
  options: z
    .array(z.string().regex(/^[A-Za-z]+[ =]/, "must be an ssh option like ConnectTimeout=5"))
    .optional(),
  become: z.boolean().optional(),
});

const inventorySchema = z.strictObject({
  hosts: z.record(
    name,
    z.preprocess((v) => v ?? {}, hostSchema),
  ),
  groups: z
    .record(
      name,
      z.preprocess((v) => v ?? {}, groupSchema),
    )
    .optional(),
  ssh: sshSchema.optional(),
});

type Raw = z.infer<typeof inventorySchema>;
type RawGroup = z.infer<typeof groupSchema>;

/** Parse and resolve an inventory; `file` is how errors name it. Throws InventoryError. */
export function parseInventory(text: string, file: string): Inventory {
  const src = new YamlSource(file, text);
  const yamlError = src.errors[0];
  if (yamlError !== undefined) {
    throw new InventoryError(yamlError.source ?? { file, line: 1 }, stripWhere(yamlError.message));
  }
  const fail = (path: Path, message: string): never => {
    throw new InventoryError(
      src.ref(path),
      message,
      path.length === 0 ? undefined : fieldName(path),
    );
  };
  if (src.value === null || typeof src.value !== "object" || Array.isArray(src.value)) {
    fail([], "an inventory is a map with `hosts:` (and optional `groups:`, `ssh:`)");
  }
  const parsed = inventorySchema.safeParse(src.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      fail([...path, issue.keys[0]!], "unknown field");
    }
    fail(path, issue.message);
  }
  return resolve(parsed.data!, fail);
}

function stripWhere(message: string): string {
  return message.replace(/^[^:]*:\d+: /, "");
}

function resolve(raw: Raw, fail: (path: Path, message: string) => never): Inventory {
  const groups = raw.groups ?? {};
  const parents = new Map<string, string[]>();
  for (const [g, group] of Object.entries(groups)) {
    (group.hosts ?? []).forEach((h, i) => {
      if (!(h in raw.hosts)) fail(["groups", g, "hosts", i], `unknown host "${h}"`);
    });
    (group.children ?? []).forEach((c, i) => {
      if (!(c in groups)) fail(["groups", g, "children", i], `unknown group "${c}"`);
      parents.set(c, [...(parents.get(c) ?? []), g]);
    });
  }
  checkCycles(groups, fail);

  const depthMemo = new Map<string, number>();
  const depth = (g: string): number => {
    let d = depthMemo.get(g);
    if (d === undefined) {
      d = Math.max(-1, ...(parents.get(g) ?? []).map(depth)) + 1;
      depthMemo.set(g, d);
    }
    return d;
  };

  // host → every group it is in: its direct groups and all their ancestors.
  const memberOf = new Map<string, Set<string>>();
  const addWithAncestors = (host: string, g: string): void => {
    const set = memberOf.get(host) ?? new Set<string>();
    memberOf.set(host, set);
    if (set.has(g)) return;
    set.add(g);
    for (const p of parents.get(g) ?? []) addWithAncestors(host, p);
  };
  for (const [g, group] of Object.entries(groups)) {
    for (const h of group.hosts ?? []) addWithAncestors(h, g);
  }

  const ssh = raw.ssh ?? {};
  const hosts = Object.entries(raw.hosts).map(([hostName, h]): InventoryHost => {
    const inGroups = [...(memberOf.get(hostName) ?? [])].sort(
      (a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0),
    );
    const layers: RawGroup[] = inGroups.map((g) => groups[g]!);
    const roles = new Set<string>();
    for (const l of layers) for (const r of l.roles ?? []) roles.add(r);
    for (const r of h.roles ?? []) roles.add(r);
    return {
      name: hostName,
      address: h.address ?? hostName,
      port: h.port ?? ssh.port,
      user: h.user ?? ssh.user,
      roles: [...roles],
      vars: Object.assign({}, ...layers.map((l) => l.vars ?? {}), h.vars ?? {}),
      labels: Object.assign({}, ...layers.map((l) => l.labels ?? {}), h.labels ?? {}),
      become: h.become ?? ssh.become ?? false,
      groups: inGroups,
    };
  });
  return {
    hosts,
    ssh: {
      user: ssh.user,
      port: ssh.port,
      identityFile: ssh.identityFile,
      options: ssh.options ?? [],
    },
  };
}

function checkCycles(
  groups: Record<string, RawGroup>,
  fail: (path: Path, message: string) => never,
): void {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (g: string): void => {
    if (done.has(g)) return;
    stack.push(g);
    (groups[g]!.children ?? []).forEach((c, i) => {
      const at = stack.indexOf(c);
      if (at >= 0) {
        fail(["groups", g, "children", i], `cycle: ${[...stack.slice(at), c].join(" → ")}`);
      }
      visit(c);
    });
    stack.pop();
    done.add(g);
  };
  for (const g of Object.keys(groups)) visit(g);
}

/** Read and parse an inventory file; a relative `ssh.identityFile` is relative to the file. */
export async function readInventory(path: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "it is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (err as Error).message;
    throw new GantryError("invalid_inventory", `cannot read inventory ${path}: ${why}`, {
      status: 400,
    });
  }
  const inv = parseInventory(text, path);
  const key = inv.ssh.identityFile;
  if (key !== undefined && !key.startsWith("~") && !isAbsolute(key)) {
    inv.ssh.identityFile = join(dirname(path), key);
  }
  return inv;
}
