/**
 * The dashboard as an operator uses it, in Debian's chromium against `gantry up` with a second
 * node: log in through `gantry ui`'s one-time link as an operator token; push an app from the
 * test and watch it appear without a reload; scale it; roll it back behind a confirmation; follow
 * its logs and see a shipped line within 1 s; drain the second node; have a stale key edit
 * refused with the current value shown; and see a lost connection shown and resumed. Every
 * change made in the browser is checked in the API (and the audit log names the token that
 * logged in). Screenshots land in test-artifacts/ui/.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READY, startUi, type Ui } from "./helpers/browser.js";
import { spawnCli } from "./helpers/gantry.js";
import { createApp, eventually, HELLO, localRepo, nodeTokenFile, push } from "./helpers/paas.js";

const NODE2 = "node-2";
let ui: Ui;
let page: Page;
let work: string;
let agent: ChildProcess | undefined;
let agentOut = "";
let operator = "";

const appInfo = async (): Promise<{ currentRelease?: number; formation: Record<string, number> }> =>
  (
    await ui.request<{ currentRelease?: number; formation: Record<string, number> }>(
      "GET",
      "/v1/apps/hello",
    )
  ).body;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-ui-scenario-"));
  ui = await startUi();
  const g = ui.gantry!;
  agent = spawnCli(
    [
      "agent",
      ...["--server", g.url, "--node-name", NODE2, "--data-dir", join(work, "agent2")],
      ...["--token-file", await nodeTokenFile(g, NODE2, work), "--stop-instances"],
    ],
    { GANTRY_TOKEN: "", GANTRY_ADDR: "", GANTRY_DATA_DIR: join(work, "home") },
  );
  agent.stdout!.on("data", (d: Buffer) => (agentOut += d.toString()));
  agent.stderr!.on("data", (d: Buffer) => (agentOut += d.toString()));
  await eventually("node-2 to join", async () =>
    agentOut.includes(`as ${NODE2}`) ? true : undefined,
  );
  operator = await ui.makeToken("ops-alice", { role: "operator" });
  page = ui.page;
}, 180_000);

afterAll(async () => {
  if (agent !== undefined && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once("exit", r));
    agent.kill("SIGINT");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    if (agent.exitCode === null) agent.kill("SIGKILL");
  }
  await ui?.close();
  rmSync(work, { recursive: true, force: true });
});

describe("the dashboard, end to end", () => {
  it("logs in through gantry ui's one-time link as the token that made it", async () => {
    const made = await ui.gantry!.cli(["ui", "--json"], { env: { GANTRY_TOKEN: operator } });
    expect(made.code, made.stderr).toBe(0);
    const { url } = JSON.parse(made.stdout) as { url: string };
    expect(url).toMatch(/\/ui\/login\?code=/);
    await page.goto(url);
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    await expect(page.locator(".who").textContent()).resolves.toBe("ops-alice");
    await page.locator(READY).first().waitFor();
    await ui.screenshot(page, "scenario-overview-empty");
  });

  it("shows a pushed app appear live, without a reload", async () => {
    await ui.open(page, "/apps");
    const navigations: string[] = [];
    page.on("framenavigated", (f) => navigations.push(f.url()));
    const remote = await createApp(ui.gantry!, "hello");
    const pushed = await push(await localRepo(work, HELLO), remote);
    expect(pushed.code, pushed.stderr).toBe(0);
    await page.locator('[data-testid="app-row-hello"]').waitFor({ timeout: 5_000 });
    await expect
      .poll(() => page.locator('[data-testid="app-row-hello"]').textContent(), { timeout: 10_000 })
      .toContain("v1");
    expect(navigations).toEqual([]);
    await ui.screenshot(page, "scenario-apps");
  });

  it("scales the app from its page", async () => {
    await ui.open(page, "/apps/hello/instances");
    await expect.poll(() => page.locator('[data-testid="instance-row"]').count()).toBe(1);
    await page.locator('[data-testid="scale-web"]').fill("3");
    await page.locator('[data-testid="scale-apply"]').click();
    await expect.poll(async () => (await appInfo()).formation["web"], { timeout: 5_000 }).toBe(3);
    await expect
      .poll(() => page.locator('[data-testid="instance-row"]').count(), { timeout: 60_000 })
      .toBe(3);
    await ui.screenshot(page, "scenario-app-instances");
  });

  it("rolls back behind a confirmation, audited as the token that logged in", async () => {
    const set = await ui.gantry!.cli(["config:set", "hello", "GREETING=there"]);
    expect(set.code, set.stderr).toBe(0);
    await ui.open(page, "/apps/hello/releases");
    await expect
      .poll(() => page.locator('[data-testid="release-current"]').textContent(), {
        timeout: 30_000,
      })
      .toBe("v2");
    await page
      .locator('[data-testid="release-row-v1"]')
      .getByRole("button", { name: /roll back/i })
      .click();
    const dialog = page.locator('[data-testid="confirm"]');
    await expect(dialog.textContent()).resolves.toContain("v1");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect((await appInfo()).currentRelease).toBe(2);
    await page
      .locator('[data-testid="release-row-v1"]')
      .getByRole("button", { name: /roll back/i })
      .click();
    await dialog
      .getByRole("button", { name: /confirm|roll back/i })
      .last()
      .click();
    await expect.poll(async () => (await appInfo()).currentRelease, { timeout: 10_000 }).toBe(3);
    await expect
      .poll(() => page.locator('[data-testid="release-current"]').textContent(), { timeout: 5_000 })
      .toBe("v3");
    const audit = await ui.request<{ token: string; action: string }[]>(
      "GET",
      "/v1/audit?target=hello",
    );
    const rollback = audit.body.find((e) => /rollback/.test(e.action));
    expect(rollback?.token).toBe("ops-alice");
    await ui.screenshot(page, "scenario-app-releases");
  });

  it("follows the logs and shows a new line within a second", async () => {
    await ui.open(page, "/apps/hello/logs", { ready: false });
    await page.locator('[data-testid="log-view"]').waitFor();
    await expect
      .poll(() => page.locator('[data-testid="log-follow"]').getAttribute("aria-pressed"))
      .toBe("true");
    for (let i = 0; i < 3; i++) {
      const marker = `ui-scenario-marker-${i}-${Date.now()}`;
      // The page notes the moment the line is on screen; the line is shipped as agents ship them.
      // (A string: the tests' tsconfig has no DOM types.)
      await page.evaluate(`(() => {
        window.seenAt = undefined;
        const obs = new MutationObserver(() => {
          const view = document.querySelector('[data-testid="log-view"]');
          if (view !== null && view.textContent.includes(${JSON.stringify(marker)})) {
            window.seenAt = Date.now();
            obs.disconnect();
          }
        });
        obs.observe(document.body, { childList: true, subtree: true, characterData: true });
      })()`);
      const sent = Date.now();
      const shipped = await ui.request("POST", "/v1/apps/hello/logs", {
        lines: [{ source: "web.1", line: marker }],
      });
      expect(shipped.status).toBe(200);
      // A function, not a string: the dashboard's CSP forbids eval.
      await page.waitForFunction(
        () => (globalThis as { seenAt?: number }).seenAt !== undefined,
        undefined,
        { timeout: 5_000 },
      );
      const seenAt = (await page.evaluate("window.seenAt")) as number;
      expect(seenAt - sent).toBeLessThan(1000);
    }
    await ui.screenshot(page, "scenario-logs");
  });

  it("drains a node behind a confirmation", async () => {
    await ui.open(page, "/nodes");
    const row = page.locator(`[data-testid="node-row-${NODE2}"]`);
    await row.getByRole("button", { name: "Drain" }).click();
    await page
      .locator('[data-testid="confirm"]')
      .getByRole("button", { name: /confirm|drain/i })
      .last()
      .click();
    await expect
      .poll(() => page.locator(`[data-testid="node-state-${NODE2}"]`).textContent(), {
        timeout: 10_000,
      })
      .toMatch(/draining|drained/);
    const nodes = await ui.request<{ name: string; status: string }[]>("GET", "/v1/nodes?all");
    expect(nodes.body.find((n) => n.name === NODE2)?.status).toBe("draining");
    await ui.screenshot(page, "scenario-nodes");
  });

  it("refuses a stale key edit and shows the current value", async () => {
    await ui.request("PUT", "/v1/kv/app/feature", "one");
    await ui.open(page, "/kv/app/feature");
    await expect.poll(() => page.locator('[data-testid="kv-value"]').inputValue()).toBe("one");
    await ui.request("PUT", "/v1/kv/app/feature", "two");
    await page.locator('[data-testid="kv-value"]').fill("mine");
    await page.locator('[data-testid="kv-save"]').click();
    const conflict = page.locator('[data-testid="kv-conflict"]');
    await conflict.waitFor({ timeout: 5_000 });
    await expect(conflict.textContent()).resolves.toContain("two");
    const raw = await fetch(`${ui.url}/v1/kv/app/feature?raw`, {
      headers: { authorization: `Bearer ${ui.token}` },
    });
    expect(await raw.text()).toBe("two");
    await ui.screenshot(page, "scenario-kv-conflict");
    expect(ui.errors(page).filter((e) => !/401|Failed to load resource/.test(e))).toEqual([]);
  });

  it("shows a lost connection as such and resumes when the server is back", async () => {
    await ui.open(page, "/apps");
    const status = page.locator('[data-testid="live-status"]');
    await expect.poll(() => status.getAttribute("data-state")).toBe("live");
    await ui.gantry!.stop();
    await expect
      .poll(() => status.getAttribute("data-state"), { timeout: 10_000 })
      .toBe("reconnecting");
    await ui.gantry!.start();
    await expect.poll(() => status.getAttribute("data-state"), { timeout: 15_000 }).toBe("live");
    // The page carries on without a reload: a new app shows up through the resumed stream.
    const made = await ui.request("POST", "/v1/apps", { name: "after-restart" });
    expect(made.status).toBe(201);
    await page.locator('[data-testid="app-row-after-restart"]').waitFor({ timeout: 5_000 });
  });

  it("ends the session when its token is revoked: the page falls back to the login form", async () => {
    await ui.open(page, "/apps");
    const revoked = await ui.request("DELETE", "/v1/tokens/ops-alice");
    expect(revoked.status).toBe(200);
    await ui.request("POST", "/v1/apps", { name: "after-revoke" });
    await page.locator('input[name="token"]').waitFor({ timeout: 10_000 });
    const session = await page.evaluate(() => fetch("/v1/ui/session").then((r) => r.status));
    expect(session).toBe(401);
  });
});
