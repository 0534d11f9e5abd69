/**
 * The event stream's topics (`GET /v1/events`, docs/ui.md "Live updates"), pure: which store
 * prefixes each topic covers, the name a changed key is about (an app, a node, a service …), and
 * whether a token may see that change. Only names travel on the stream, never values.
 */
import { CERTS_PREFIX } from "../certs/record.js";
import { K } from "../model/keys.js";
import { allows, allowsPrefix, isAdmin, type Policy, type Resource } from "../model/token.js";
import { prefixEnd } from "../store/keys.js";
import type { KeyRange } from "../store/types.js";

export const TOPICS = [
  "apps",
  "instances",
  "nodes",
  "services",
  "kv",
  "converge",
  "stack",
  "pools",
  "pipelines",
  "audit",
  "tokens",
  "servers",
  "certs",
] as const;
export type Topic = (typeof TOPICS)[number];

type Policies = readonly Policy[];

/** A store prefix of a topic: how a key under it names something, and who may see that. */
interface Source {
  prefix: string;
  topic: Topic;
  /** The name from the key after the prefix (and the value, on a put); undefined: not one. */
  name: (rest: string, value: Uint8Array | undefined) => string | undefined;
  may: (p: Policies, name: string, value: Uint8Array | undefined) => boolean;
}

/** The first path segment (`web` of `web/00000003`); undefined when empty. */
const first = (rest: string): string | undefined => {
  const seg = rest.split("/", 1)[0]!;
  return seg === "" ? undefined : seg;
};
const whole = (rest: string): string | undefined => (rest === "" ? undefined : rest);
/** The second segment (`web-v1-web-1-ab12` of `node-1/web-v1-web-1-ab12`). */
const second = (rest: string): string | undefined => {
  const slash = rest.indexOf("/");
  return slash < 0 ? undefined : first(rest.slice(slash + 1));
};

const read =
  (resource: Resource) =>
  (p: Policies, name: string): boolean =>
    allows(p, resource, name, "read");

/** Whether any policy reads some name of the resource (every access level includes read). */
const some =
  (...resources: Resource[]) =>
  (p: Policies): boolean =>
    p.some((x) => "admin" in x || resources.includes(x.resource));

const admin = (p: Policies): boolean => isAdmin(p);

/**
 * The app of an instance id, `<app>-v<release>-<type>-<index>-<suffix>` (src/apps/formation.ts).
 * App names and process types may hold dashes: the release is the last `-v<digits>-` that leaves
 * a type, an index and a suffix after it.
 */
export function instanceApp(id: string): string | undefined {
  return /^([a-z][a-z0-9-]*)-v\d+-[a-z][a-z0-9-]*-\d+-[a-z0-9]+$/.exec(id)?.[1];
}

const decoder = new TextDecoder();

/** A field of a JSON record value (an instance's `app`, a pipeline's `stages`), if it parses. */
function field(value: Uint8Array | undefined, name: string): unknown {
  if (value === undefined || value.length === 0) return undefined;
  try {
    const v = JSON.parse(decoder.decode(value)) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Instance and assignment records name their app (no read needed); a deleted one only has its
 * id: `instances/<id>`, `assignments/<node>/<id>`.
 */
const instanceName =
  (idOf: (rest: string) => string | undefined) =>
  (rest: string, value: Uint8Array | undefined): string | undefined => {
    const app = field(value, "app");
    return typeof app === "string" && app !== "" ? app : instanceApp(idOf(rest) ?? "");
  };

/** A pipeline is visible to who may read the app of the same name or one of its stages. */
const mayPipeline = (p: Policies, name: string, value: Uint8Array | undefined): boolean => {
  if (allows(p, "app", name, "read")) return true;
  const stages = field(value, "stages");
  if (Array.isArray(stages))
    return stages.some((s: unknown) => {
      const app = typeof s === "object" && s !== null ? (s as { app?: unknown }).app : undefined;
      return typeof app === "string" && allows(p, "app", app, "read");
    });
  // Deleted: its stages are gone with the value; anyone who reads apps learns its name went.
  return value === undefined && some("app")(p);
};

/** The states bundle: `states::read`, or a token that writes some node (an agent's). */
const mayStates = (p: Policies): boolean =>
  allowsPrefix(p, "states", "", "read") ||
  p.some((x) => !("admin" in x) && x.resource === "node" && x.access === "write");
const mayConvergeNode = (p: Policies, node: string): boolean =>
  allows(p, "node", node, "read") || allows(p, "states", node, "read");

const src = (prefix: string, topic: Topic, name: Source["name"], may: Source["may"]): Source => ({
  prefix,
  topic,
  name,
  may,
});

const appRead = read("app");
const SOURCES: readonly Source[] = [
  ...[K.apps, K.releases, K.deploys, K.scales, K.builds, K.config, K.testConfig, K.connectApps].map(
    (p) => src(p, "apps", first, appRead),
  ),
  src(K.instances, "instances", instanceName(whole), appRead),
  src(K.assignments, "instances", instanceName(second), appRead),
  ...[K.nodes, K.drains, K.nodeLabels].map((p) => src(p, "nodes", first, read("node"))),
  src(K.catalog, "services", first, read("service")),
  src(K.health, "services", first, read("service")),
  src(K.kv, "kv", whole, read("kv")),
  src(K.convergeStates, "converge", (rest) => (rest === "" ? "states" : undefined), mayStates),
  src(K.convergeNodes, "converge", first, mayConvergeNode),
  src(K.convergeRuns, "converge", first, mayConvergeNode),
  src("stack/", "stack", whole, read("stack")),
  src("pools/", "pools", second, read("pool")),
  src(K.pipelines, "pipelines", first, mayPipeline),
  src(K.audit, "audit", () => "", admin),
  src(K.tokens, "tokens", first, admin),
  src(K.servers, "servers", first, (p) => allowsPrefix(p, "node", "", "read")),
  src(CERTS_PREFIX, "certs", first, appRead),
];

/** Whether the token may see some change of the topic (else asking for it is refused). */
const MAY_READ: Record<Topic, (p: Policies) => boolean> = {
  apps: some("app"),
  instances: some("app"),
  nodes: some("node"),
  services: some("service"),
  kv: some("kv"),
  converge: some("states", "node"),
  stack: some("stack"),
  pools: some("pool"),
  pipelines: some("app"),
  audit: admin,
  tokens: admin,
  servers: (p) => allowsPrefix(p, "node", "", "read"),
  certs: some("app"),
};

export const mayReadTopic = (p: Policies, topic: Topic): boolean => MAY_READ[topic](p);

export const isTopic = (s: string): s is Topic => (TOPICS as readonly string[]).includes(s);

/** The store prefixes a topic covers. */
export function topicPrefixes(topic: Topic): string[] {
  return SOURCES.filter((s) => s.topic === topic).map((s) => s.prefix);
}

export interface Change {
  topic: Topic;
  name: string;
  type: "put" | "delete";
}

/**
 * What a changed key is about, when the token may see it and its topic is asked for; undefined
 * otherwise (keys of no topic too). `value` is the put's value (undefined for a delete).
 */
export function changeOf(
  key: string,
  type: "put" | "delete",
  value: Uint8Array | undefined,
  topics: ReadonlySet<Topic>,
  policies: Policies,
): Change | undefined {
  const s = SOURCES.find((x) => key.startsWith(x.prefix));
  if (s === undefined || !topics.has(s.topic)) return undefined;
  const v = type === "put" ? value : undefined;
  const name = s.name(key.slice(s.prefix.length), v);
  if (name === undefined || !s.may(policies, name, v)) return undefined;
  return { topic: s.topic, name, type };
}

/** One entry per distinct (topic, name, type), in first-seen order. */
export function coalesce(changes: readonly Change[]): Change[] {
  const seen = new Map<string, Change>();
  for (const c of changes) seen.set(`${c.type}\0${c.topic}\0${c.name}`, c);
  return [...seen.values()];
}

/**
 * One key range covering every prefix of the topics (the store watches one range): from the
 * smallest prefix to past the largest. Keys in it of no asked topic are dropped by `changeOf`.
 */
export function watchRange(topics: Iterable<Topic>): KeyRange {
  const prefixes = [...new Set([...topics].flatMap(topicPrefixes))].map((p) =>
    Buffer.from(p, "utf8"),
  );
  if (prefixes.length === 0) throw new Error("watchRange needs a topic");
  prefixes.sort(Buffer.compare);
  const start = prefixes[0]!;
  const ends = prefixes.map(prefixEnd);
  const end = ends.reduce((a, b) => (Buffer.compare(a, b) >= 0 ? a : b));
  if (prefixes.length === 1) return { prefix: start.toString("utf8") };
  return { key: start.toString("utf8"), end: end.toString("utf8") };
}
