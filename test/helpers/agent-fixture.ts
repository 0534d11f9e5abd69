/**
 * An app as the agent sees it, written straight into a test server (as the API, the builder and
 * the deploy controller would): the app record, release v1 with encrypted config, an artifact
 * of small Node programs, and assignments on demand.
 */
import { SecretBox } from "../../src/apps/secrets.js";
import { assignmentKey, instanceKey } from "../../src/apps/keys.js";
import {
  releaseKey,
  type App,
  type Assignment,
  type InstanceStatus,
  type Release,
} from "../../src/model/app.js";
import { text } from "../../src/store/index.js";
import type { TestApi } from "./api.js";
import { appTarball, storeArtifact } from "./tarball.js";

export const APP_FILES = {
  "server.js": `
const http = require("node:http");
const port = Number(process.env.PORT);
const server = http.createServer((req, res) => {
  if (req.url === "/env") return res.end(JSON.stringify(process.env));
  res.end("hello " + process.env.GREETING + " from " + process.pid);
});
server.listen(port, "127.0.0.1", () => console.log("listening on " + port));
process.on("SIGTERM", () => { console.log("got SIGTERM, bye"); process.exit(0); });
`,
  "crash.js": `
for (let i = 1; i <= 25; i++) console.log("line " + i);
console.error("boom");
process.exit(3);
`,
  "stubborn.js": `
process.on("SIGTERM", () => console.log("ignoring SIGTERM"));
console.log("stubborn up");
setInterval(() => {}, 1000);
`,
  "oneoff.js": `
console.log("ran with GREETING=" + process.env.GREETING);
process.exit(7);
`,
  Procfile: "web: node server.js\n",
};

/** Write the app, its release v1 (config GREETING=hi, and a PORT the agent must override) and artifact. */
export async function seedApp(t: TestApi, app: string): Promise<{ artifact: string }> {
  const now = new Date().toISOString();
  const record: App = {
    name: app,
    createdAt: now,
    createdBy: "test",
    domains: [],
    formation: { web: 1 },
    healthPath: "/",
    deployTimeoutMs: 30_000,
    drainMs: 1000,
    currentRelease: 1,
  };
  await t.store.put(`apps/${app}`, JSON.stringify(record));
  const release: Release = {
    app,
    version: 1,
    processTypes: { web: "node server.js" },
    configVersion: 1,
    config: new SecretBox({ dataDir: t.dataDir }).seal(app, { GREETING: "hi", PORT: "1" }),
    description: "test",
    createdAt: now,
    createdBy: "test",
    status: "active",
  };
  await t.store.put(releaseKey(app, 1), JSON.stringify(release));
  return { artifact: storeArtifact(t.dataDir, appTarball(APP_FILES)) };
}

let seq = 0;

/** An assignment of `app` v1 (web.1 running `node server.js` unless told otherwise). */
export function assignment(
  app: string,
  node: string,
  artifact: string,
  fields: Partial<Assignment> = {},
): Assignment {
  const processType = fields.processType ?? "web";
  const index = fields.index ?? 1;
  return {
    id: `${app}-v1-${processType}-${index}-${String(++seq).padStart(4, "0")}`,
    app,
    release: 1,
    processType,
    index,
    node,
    artifact,
    command: "node server.js",
    kind: "run",
    desired: "running",
    healthPath: "/",
    createdAt: new Date().toISOString(),
    ...fields,
  };
}

export const putAssignment = (t: TestApi, a: Assignment) =>
  t.store.put(assignmentKey(a.node, a.id), JSON.stringify(a));
export const deleteAssignment = (t: TestApi, a: Assignment) =>
  t.store.delete(assignmentKey(a.node, a.id));

export async function instanceStatus(t: TestApi, id: string): Promise<InstanceStatus | undefined> {
  const kv = await t.store.get(instanceKey(id));
  return kv === undefined ? undefined : (JSON.parse(text(kv.value)) as InstanceStatus);
}
