/**
 * The apps commands of the CLI, in-process, against a real API server, store and deploy
 * controller; a fake agent stands in for the node (see helpers/fake-agent.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Principal } from "../src/model/principal.js";
import type { AppService } from "../src/apps/service.js";
import { startDeployController, type DeployController } from "../src/controllers/deploy.js";
import { startTestApi, type TestApi } from "./helpers/api.js";
import { gantry } from "./helpers/cli-in-process.js";
import { FakeAgent } from "./helpers/fake-agent.js";

let t: TestApi;
let svc: AppService;
let agent: FakeAgent;
let controller: DeployController;
const who: Principal = { tokenId: "t", name: "tester", policies: [{ admin: true }] };

beforeAll(async () => {
  t = await startTestApi();
  svc = t.api.deps.apps as AppService;
  process.env["GANTRY_ADDR"] = t.url;
  process.env["GANTRY_TOKEN"] = t.adminToken;
  await t.store.put("nodes/node-a", JSON.stringify({ name: "node-a" }));
  agent = new FakeAgent(
    t.store,
    (a) =>
      a.command.includes("exit(3)")
        ? { output: ["about to fail"], exitCode: 3 }
        : { output: ["hello from a one-off"], exitCode: 0 },
    (app, source, lines) =>
      svc.logs.append(
        app,
        lines.map((line) => ({ source, line })),
      ),
  );
  // As startServer wires it: deploy progress goes to the app's log too.
  controller = startDeployController({
    store: t.store,
    log: () => undefined,
    appLog: (app, line) => svc.logs.append(app, [{ source: "deploy", line }]),
  });
});
afterAll(async () => {
  await controller?.stop();
  await agent?.stop();
  await t?.close();
});
beforeEach(() => {
  agent.timeline.length = 0;
});

describe("gantry apps", () => {
  it("creates an app and prints its git remote with the next steps", async () => {
    const r = await gantry("apps:create", "hello", "--deploy-timeout", "2s", "--drain", "200ms");
    expect(r.code).toBe(0);
    expect(r.out).toContain(`git remote  ${t.url}/git/hello.git`);
    expect(r.out).toContain("url         http://hello.localhost:8080/");
    expect(r.out).toContain(`git remote add gantry ${t.url}/git/hello.git`);
    const list = await gantry("apps");
    expect(list.out.split("\n")[1]).toMatch(/^hello\s+-\s+-\s+http:\/\/hello\.localhost:8080\/$/);
    const info = JSON.parse((await gantry("apps:info", "hello", "--json")).out);
    expect(info).toMatchObject({
      name: "hello",
      gitUrl: `${t.url}/git/hello.git`,
      url: "http://hello.localhost:8080/",
      deployTimeoutMs: 2000,
      drainMs: 200,
    });
  });

  it("says clearly when an app does not exist or a name is bad", async () => {
    const r = await gantry("apps:info", "nope");
    expect([r.code, r.err]).toEqual([1, 'gantry: app "nope" not found']);
    const bad = await gantry("apps:create", "Bad_Name");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^gantry: name: must be a DNS label/);
  });
});

describe("gantry config, ps, releases", () => {
  it("sets config with a rolling deploy and shows it", async () => {
    const first = await svc.releaseFromBuild(
      "hello",
      {
        id: "b1",
        app: "hello",
        status: "succeeded",
        commit: "abc",
        startedAt: new Date().toISOString(),
        artifact: "d".repeat(64),
        processTypes: { web: "node server.js" },
        createdBy: "tester",
      },
      who,
      () => undefined,
    );
    expect(first.ok).toBe(true);
    const r = await gantry("config:set", "hello", "GREETING=hi there");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Setting GREETING on hello: v2");
    expect(r.out).toContain("web.1 passes its health check");
    expect(r.out.split("\n").at(-1)).toBe("✓ v2 is live at http://hello.localhost:8080/");
    expect((await gantry("config", "hello")).out).toBe("GREETING: hi there");
    expect((await gantry("config", "hello", "--shell")).out).toBe("GREETING='hi there'");
    expect((await gantry("config:set", "hello", "GREETING=hi there")).out).toBe(
      "no change: hello stays at v2",
    );
  });

  it("exits non-zero with the reason when the deploy fails", async () => {
    agent.behaviour.set(3, "crash");
    const r = await gantry("config:unset", "hello", "GREETING");
    expect(r.code).toBe(1);
    expect(r.err).toContain("gantry: the deploy of v3 failed: web.1 crashed, exit code 1");
    expect(r.err).toContain("Error: GREETING is not set");
    const rel = await gantry("releases", "hello");
    expect(rel.out).toMatch(/v3\s+failed\s+Unset GREETING/);
    expect(rel.out).toMatch(/v2\s+active\s+Set GREETING/);
    expect(rel.out).toContain("v3 failed: web.1 crashed");
  });

  it("shows instances and scales them", async () => {
    const ps = await gantry("ps", "hello");
    expect(ps.out.split("\n")[0]).toMatch(/^INSTANCE\s+STATE\s+RELEASE\s+NODE\s+PORT\s+RESTARTS/);
    expect(ps.out).toMatch(/web\.1\s+running\s+v2\s+node-a\s+5001\s+0\s+passing/);
    // ps:scale follows the scaling until the new instance is up, telling what it does.
    const scaled = await gantry("ps:scale", "hello", "web=2");
    expect(scaled.code, scaled.err).toBe(0);
    expect(scaled.out.split("\n")).toEqual([
      "Scaling hello: web=2",
      "  scaling hello to web=2",
      "  scaling: starting web.2 on node-a",
      "  hello runs web=2",
      "✓ hello runs web=2",
    ]);
    const again = await gantry("ps:scale", "hello", "web=2");
    expect([again.code, again.out]).toEqual([0, "no change: hello runs web=2"]);
    const bad = await gantry("ps:scale", "hello", "web");
    expect([bad.code, bad.err]).toEqual([1, 'gantry: "web" is not TYPE=COUNT, like web=3 (web)']);
  });

  it("rolls back to an earlier release", async () => {
    const r = await gantry("releases:rollback", "hello", "v1");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Rolling back hello to v1: v4");
    expect(r.out).toContain("✓ v4 is live");
    expect(JSON.parse((await gantry("config", "hello", "--json")).out)).toEqual({});
  });
});

describe("gantry run and logs", () => {
  it("runs a one-off, streams its output and exits with its exit code", async () => {
    const r = await gantry("run", "hello", "--", "node", "-e", "process.exit(3)");
    expect(r.code).toBe(3);
    expect(r.out).toBe("about to fail");
    const ok = await gantry("run", "hello", "true");
    expect([ok.code, ok.out]).toEqual([0, "hello from a one-off"]);
  });

  it("prints the app's logs, filtered by process", async () => {
    const r = await gantry("logs", "hello", "--ps", "run", "-n", "10");
    const lines = r.out.split("\n");
    expect(lines.map((l) => l.split(" ").slice(1).join(" "))).toEqual([
      "run.1 about to fail",
      "run.2 hello from a one-off",
    ]);
    const deploys = await gantry("logs", "hello", "--ps", "deploy", "-n", "1000");
    expect(deploys.out).toContain("deploy v4 is live");
  });
});

describe("gantry apps:destroy", () => {
  it("wants the name confirmed, then removes the app", async () => {
    const wrong = await gantry("apps:destroy", "hello", "--confirm", "hell");
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("--confirm must repeat the app's name");
    const r = await gantry("apps:destroy", "hello", "--confirm", "hello");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^destroyed hello \(\d+ instance\(s\) stopped\)$/);
    expect((await gantry("apps")).out).toBe("(no apps yet: gantry apps:create NAME)");
  });
});
