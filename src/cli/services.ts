import { parse as parseYaml } from "yaml";
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import type { Command } from "commander";
import { CatalogClient } from "../client/catalog.js";
import { ValidationError } from "../errors.js";
import {
  ServiceRegistrationSchema,
  type InstanceView,
  type ServiceRegistration,
} from "../model/service.js";
import { parseWith } from "../validate.js";
import { clientFromEnv } from "./config.js";
import { colours, json, table, type Output } from "../output/output.js";

const catalog = (): CatalogClient => new CatalogClient(clientFromEnv());

export function registerServiceCommands(program: Command, o: Output): void {
  const services = program
    .command("services")
    .argument("[name]", "a service: show its instances and their health")
    .description("the service catalog: list services, show instances and health, register")
    .option("--passing", "with NAME: only instances whose checks all pass")
    .option("--tag <tag>", "with NAME: only instances with this tag")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      `
A registration file is JSON (YAML too when a YAML parser is installed), one object or a list:
  {"service": "web", "id": "web-1", "address": "127.0.0.1", "port": 8000, "tags": ["v2"],
   "checks": [{"type": "http", "path": "/up", "interval": "2s", "deregisterAfter": "5m"},
              {"type": "tcp", "interval": "5s"},
              {"type": "ttl", "id": "cron", "ttl": "90s"},
              {"type": "exec", "command": ["/usr/bin/pg_isready", "-q"], "interval": "10s"}]}
"node" defaults to --node, or to the only live node (as under "gantry up").
Check states: passing, warning (http 429, exec exit 1), critical; no result yet is critical.

Examples:
  $ gantry services
  $ gantry services web
  $ gantry services web --passing --json
  $ gantry services register -f web.json
  $ gantry services ttl pass web web-1 cron --note "backup done"
  $ gantry services deregister web web-1`,
    )
    .action(
      async (
        name: string | undefined,
        opts: { passing?: boolean; tag?: string; json?: boolean },
      ) => {
        if (name === undefined) {
          if (opts.passing || opts.tag !== undefined)
            throw new ValidationError(
              "--passing and --tag need a service NAME",
              opts.passing ? "--passing" : "--tag",
            );
          const { value } = await catalog().services();
          if (opts.json) return json(o, value);
          return table(
            o,
            ["NAME", "INSTANCES", "PASSING", "TAGS"],
            value.map((s) => [s.name, String(s.instances), String(s.passing), s.tags.join(",")]),
            "(no services)",
          );
        }
        const { value } = await catalog().service(name, {
          ...(opts.passing ? { passing: true } : {}),
          ...(opts.tag === undefined ? {} : { tag: opts.tag }),
        });
        if (opts.json) return json(o, value);
        showInstances(o, value);
      },
    );

  services
    .command("register")
    .description("register (or update) service instances from a file")
    .requiredOption(
      "-f, --file <file>",
      "a JSON (or YAML) file with one registration or a list; - for stdin",
    )
    .option("--node <name>", "the node, for registrations that do not name one")
    .action(async (opts: { file: string; node?: string }) => {
      const client = catalog();
      const regs = await loadRegistrations(opts.file, opts.node, client);
      for (const reg of regs) {
        const res = await client.register(reg);
        const checks = res.instance.checks.map((c) => `${c.id} (${c.type})`).join(", ");
        o.out(
          `registered ${res.instance.service}/${res.instance.id} on ${res.instance.node} at ${res.instance.address}:${res.instance.port}` +
            (checks === "" ? "" : `; checks: ${checks}`),
        );
      }
    });

  services
    .command("deregister <service> <id>")
    .description("remove a service instance (and its health results)")
    .action(async (service: string, id: string) => {
      await catalog().deregister(service, id);
      o.out(`deregistered ${service}/${id}`);
    });

  services
    .command("ttl <action> <service> <id> <check>")
    .description(
      "report a TTL check: pass, warn or fail (it must be reported again within its TTL)",
    )
    .option("--note <text>", "the check's output")
    .action(
      async (
        action: string,
        service: string,
        id: string,
        check: string,
        opts: { note?: string },
      ) => {
        if (action !== "pass" && action !== "warn" && action !== "fail")
          throw new ValidationError(`action must be pass, warn or fail, got "${action}"`, "action");
        const res = await catalog().updateTtl(service, id, check, action, opts.note);
        o.out(`${service}/${id}/${check}: ${res.record.status}`);
      },
    );
}

function showInstances(o: Output, views: InstanceView[]): void {
  const c = colours(o);
  const paint = (s: string): string =>
    s === "passing" ? c.green(s) : s === "critical" ? c.red(s) : s;
  table(
    o,
    ["ID", "ADDRESS", "NODE", "STATUS", "TAGS"],
    views.map((v) => [v.id, `${v.address}:${v.port}`, v.node, paint(v.status), v.tags.join(",")]),
    "(no instances)",
  );
  const checks = views.flatMap((v) =>
    v.checks.map((k) => [
      v.id,
      k.id,
      k.type,
      paint(k.status),
      (k.output.split("\n")[0] ?? "").slice(0, 100),
    ]),
  );
  if (checks.length === 0) return;
  o.out("");
  table(o, ["INSTANCE", "CHECK", "TYPE", "STATUS", "OUTPUT"], checks);
}

/**
 * Read and validate every registration in a file before sending any, so a bad entry registers
 * nothing. A missing node is filled from --node, else from the only live node.
 */
async function loadRegistrations(
  file: string,
  node: string | undefined,
  client: CatalogClient,
): Promise<ServiceRegistration[]> {
  let raw: string;
  try {
    raw = readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new ValidationError(`cannot read ${file}: ${(err as Error).message}`, "--file");
  }
  const data = await parseDocument(raw, file);
  const list: unknown[] = Array.isArray(data) ? data : [data];
  if (list.length === 0) throw new ValidationError(`${file} holds no registrations`, "--file");
  let fallbackNode = node;
  if (fallbackNode === undefined && list.some((r) => isObject(r) && r["node"] === undefined)) {
    const nodes = await client.client.json<{ name: string }[]>("GET", "/v1/nodes");
    if (nodes.length !== 1)
      throw new ValidationError(
        `a registration has no "node", and there are ${nodes.length} live nodes to choose from; name one with --node`,
        "node",
      );
    fallbackNode = nodes[0]!.name;
  }
  return list.map((entry, i) => {
    const withNode =
      isObject(entry) && entry["node"] === undefined && fallbackNode !== undefined
        ? { ...entry, node: fallbackNode }
        : entry;
    return parseWith(
      ServiceRegistrationSchema,
      withNode,
      Array.isArray(data) ? `[${i}]` : undefined,
    );
  });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** JSON, or YAML (any file that is not JSON); errors name the file. */
async function parseDocument(raw: string, file: string): Promise<unknown> {
  const ext = extname(file).toLowerCase();
  const yamlFile = ext === ".yaml" || ext === ".yml";
  if (!yamlFile) {
    try {
      return JSON.parse(raw);
    } catch (err) {
      if (ext === ".json" || raw.trimStart().startsWith("{") || raw.trimStart().startsWith("["))
        throw new ValidationError(`${file} is not valid JSON: ${(err as Error).message}`, "--file");
    }
  }
  try {
    return parseYaml(raw);
  } catch (err) {
    throw new ValidationError(`${file} is not valid YAML: ${(err as Error).message}`, "--file");
  }
}
