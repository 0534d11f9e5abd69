/**
 * The app, converge, role and node kinds of the stack (issue 11) against a real `gantry up`:
 * a stack folder (a git repository) with an app built from its own `source:` folder, an app
 * without code, states with a role, and nodes, planned and applied through the engine and the
 * API a person uses. Then: nothing changed → nothing done (no release, no build); a file of
 * the source folder changed → one build; hand edits (config:set, ps:scale) show as drift and
 * are put back; a rollback pins the app until releases:unpin.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppsClient } from "../src/client/apps.js";
import { GantryClient } from "../src/client/client.js";
import { ConvergeClient } from "../src/client/converge.js";
import { applyPlan } from "../src/spec/apply.js";
import type { KindContext } from "../src/spec/kind.js";
import { defaultRegistry } from "../src/spec/kinds/index.js";
import { planStack } from "../src/spec/live.js";
import { loadStack } from "../src/spec/load.js";
import type { Plan, PlannedChange } from "../src/spec/plan.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get, git, routerPort, stopGantry } from "./helpers/paas.js";

const FIXTURE = resolve(import.meta.dirname, "fixtures/stack");
const registry = defaultRegistry();

let g: GantryProcess;
let client: GantryClient;
let apps: AppsClient;
let work: string;
let dir: string;
let node: string;
let port: number;
let lines: string[] = [];

const ctx = (): KindContext => ({
  client,
  dir,
  stack: { name: "kinds-test" },
  progress: (l) => lines.push(l),
  reveal: (l) => lines.push(l),
});

async function plan(): Promise<Plan> {
  const stack = await loadStack(dir, registry);
  return (await planStack(ctx(), registry, stack)).plan;
}

/** Plan and apply, as `gantry apply --auto-approve` does; answers the plan it applied. */
async function apply(): Promise<Plan> {
  lines = [];
  const stack = await loadStack(dir, registry);
  const { plan: p, snapshot } = await planStack(ctx(), registry, stack);
  await applyPlan(ctx(), registry, p, snapshot);
  return p;
}

const change = (p: Plan, kind: string, name: string): PlannedChange =>
  p.changes.find((c) => c.kind === kind && c.name === name)!;
const paths = (c: PlannedChange): string[] => c.fields.map((f) => f.path);
const counts = async (app: string) => ({
  releases: (await apps.releases(app)).length,
  builds: (await apps.builds(app)).length,
});
const hello = async (): Promise<string> => (await get(port, "hello.localhost")).body;
/** Wait until the router serves this version of hello (the old one drains after a deploy). */
const serves = (version: string): Promise<string> =>
  eventually(`hello ${version} through the router`, async () => {
    const body = await hello();
    return body.includes(version) ? body : undefined;
  });

beforeAll(async () => {
  rmSync("/tmp/gantry-stack-kinds-test", { recursive: true, force: true });
  g = await startGantry();
  client = new GantryClient({ addr: g.url, token: g.token });
  apps = new AppsClient(client);
  port = await routerPort(g);
  node = (
    await eventually(
      "the local node",
      async () => (await client.json<{ name: string }[]>("GET", "/v1/nodes"))[0],
    )
  ).name;
  work = mkdtempSync(join(tmpdir(), "gantry-stack-kinds-"));
  dir = join(work, "stack");
  cpSync(FIXTURE, dir, { recursive: true });
  const yaml = join(dir, "gantry.yaml");
  writeFileSync(yaml, readFileSync(yaml, "utf8").replace("NODE:", `${node}:`));
  await git(["init", "-q", "-b", "main"], dir);
  await git(["add", "-A"], dir);
  await git(["commit", "-q", "-m", "the stack"], dir);
}, 60_000);

afterAll(async () => {
  await stopGantry(g);
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  rmSync("/tmp/gantry-stack-kinds-test", { recursive: true, force: true });
});

describe("apps, roles and nodes from a stack", () => {
  it("plans creates for everything, then applies them: the app built from its folder serves", async () => {
    const first = await plan();
    const actions = Object.fromEntries(first.changes.map((c) => [`${c.kind} ${c.name}`, c.action]));
    expect(actions).toEqual({
      "app hello": "create",
      "app idle": "create",
      "converge states": "create",
      "role web": "create",
      // The node exists (gantry up's own): the stack gives it settings.
      [`node ${node}`]: "update",
      "node later-1": "create",
    });
    const secret = change(first, "app", "hello").fields.find(
      (f) => f.path === "secrets.DB_PASSWORD",
    );
    expect(secret).toMatchObject({ sensitive: true, info: true });

    await apply();
    // The build and deploy were streamed as progress.
    expect(lines.some((l) => l.startsWith("-----> Building hello"))).toBe(true);
    expect(lines.some((l) => /warning: hello: secret DB_PASSWORD is not set/.test(l))).toBe(true);
    expect(await serves("v1")).toContain("GREETING=hi");
    const info = await apps.info("hello");
    expect(info).toMatchObject({
      domains: ["hello.example.com"],
      deployTimeoutMs: 60_000,
      drainMs: 0,
    });
    const [build] = await apps.builds("hello");
    expect(build!.source).toMatch(/^[0-9a-f]{64}$/);
    expect(build!.commit).toMatch(/^[0-9a-f]{40}$/); // the stack repo is clean: its HEAD
    expect((await apps.config("idle")).values).toEqual({ MODE: "idle" });

    const converge = new ConvergeClient(client);
    const bundle = await converge.bundle();
    expect(Object.keys(bundle!.files).sort()).toEqual([
      ".gantry-stack-states",
      "motd.yaml",
      "top.yaml",
    ]);
    expect(bundle!.files["top.yaml"]).toContain("from the stack");
    expect((await converge.node(node)).value).toMatchObject({
      roles: ["web"],
      labels: { zone: "a" },
    });
    // gantry up's agent converges its node to the role: the state ran with the role's var.
    expect(
      await eventually("the motd the web role writes", () => {
        try {
          return readFileSync("/tmp/gantry-stack-kinds-test/motd", "utf8");
        } catch {
          return undefined;
        }
      }),
    ).toBe("from the stack\n");
    // A node that has not joined gets its settings ahead of time.
    expect((await converge.node("later-1")).value).toMatchObject({
      configured: true,
      roles: ["web"],
    });
  }, 180_000);

  it("does nothing the second time: no release, no build, no push", async () => {
    const before = await counts("hello");
    const states = (await new ConvergeClient(client).states())!.modRevision;
    const again = await apply();
    expect(again.summary).toEqual({ create: 0, update: 0, replace: 0, destroy: 0, orphan: 0 });
    expect(await counts("hello")).toEqual(before);
    expect((await new ConvergeClient(client).states())!.modRevision).toBe(states);
    // What it waits for is shown, not applied.
    expect(paths(change(again, "app", "hello"))).toEqual(["secrets.DB_PASSWORD"]);
    expect(paths(change(again, "node", "later-1"))).toEqual(["joined"]);
    expect(change(again, "node", node).fields).toEqual([]);
  }, 60_000);

  it("shows hand edits as drift and puts them back", async () => {
    await apps.changeConfig("hello", { set: { GREETING: "yo", DB_PASSWORD: "s3cret" } });
    await apps.scale("hello", { web: 2 });
    const drifted = await plan();
    const c = change(drifted, "app", "hello");
    expect(c).toMatchObject({ action: "update", drift: true });
    expect(c.fields).toEqual([
      { path: "config.GREETING", old: "yo", new: "hi" },
      { path: "formation.web", old: 2, new: 1 },
    ]);
    expect(JSON.stringify(drifted.changes)).not.toContain("s3cret");
    await apply();
    // The config release's deploy and the scaling were followed to their ends.
    expect(
      lines.filter((l) =>
        /^hello: the config release v\d+, deploying$|^scaling hello: web=1$/.test(l),
      ),
    ).toHaveLength(2);
    expect((await apps.config("hello")).values).toMatchObject({
      GREETING: "hi",
      DB_PASSWORD: "s3cret",
    });
    expect((await apps.info("hello")).formation).toMatchObject({ web: 1 });
    expect((await plan()).summary.update).toBe(0);
  }, 120_000);

  it("builds again when (and only when) a file of the source folder changes", async () => {
    const before = await counts("hello");
    const server = join(dir, "apps/hello/server.js");
    writeFileSync(server, readFileSync(server, "utf8").replace('"v1"', '"v2"'));
    const p = await plan();
    const c = change(p, "app", "hello");
    expect(c.fields).toEqual([expect.objectContaining({ path: "source", fromFiles: true })]);
    expect(c.drift).toBeUndefined(); // the folder changed: intended, even with gantry.yaml as it was
    await apply();
    const after = await counts("hello");
    expect(after.builds).toBe(before.builds + 1);
    await serves("v2");
    // Not committed: the build is an upload.
    expect((await apps.builds("hello"))[0]!.commit).toBe("upload");
    const quiet = await counts("hello");
    await apply();
    expect(await counts("hello")).toEqual(quiet);
  }, 120_000);

  it("pushes an edited states folder as an intended change, not as drift", async () => {
    const motd = join(dir, "states/motd.yaml");
    writeFileSync(motd, readFileSync(motd, "utf8").replace("{{ motd }}", "{{ motd }}!"));
    const p = await plan();
    const c = change(p, "converge", "states");
    expect(c).toMatchObject({
      action: "update",
      fields: [expect.objectContaining({ path: "files.motd.yaml", fromFiles: true })],
    });
    expect(c.drift).toBeUndefined();
    await apply();
    expect(
      await eventually("the edited motd", () => {
        try {
          const text = readFileSync("/tmp/gantry-stack-kinds-test/motd", "utf8");
          return text === "from the stack!\n" ? text : undefined;
        } catch {
          return undefined;
        }
      }),
    ).toBe("from the stack!\n");
    expect((await plan()).summary.update).toBe(0);
  }, 60_000);

  it("leaves a rolled-back app pinned until releases:unpin", async () => {
    const releases = await apps.releases("hello");
    const v1 = releases.find(
      (r) => r.description.startsWith("Deploy") && r.status === "superseded",
    )!;
    const rolled = await apps.rollback("hello", v1.version);
    expect((await apps.followDeploy("hello", { release: rolled.version })).ok).toBe(true);
    await serves("v1");
    const pinned = await plan();
    const c = change(pinned, "app", "hello");
    expect(c.action).toBe("no-op");
    expect(c.fields[0]).toMatchObject({ path: "release", info: true });
    const before = await counts("hello");
    await apply();
    expect(await counts("hello")).toEqual(before);
    expect(await hello()).toContain("v1");

    expect(await apps.unpin("hello")).toEqual({ pinned: true });
    const unpinned = await plan();
    expect(change(unpinned, "app", "hello").action).toBe("update");
    await apply();
    await serves("v2");
  }, 180_000);
});
