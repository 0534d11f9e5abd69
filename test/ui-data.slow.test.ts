/**
 * The key editor, tokens and audit pages in a real browser (Debian's chromium) against the API
 * server in-process: a save on a stale revision is refused with the key's current value shown
 * and nothing overwritten; a save without conflict works; a token made in the UI works against
 * the API (its secret shown once) and revoking it in the UI ends it; an action done in the UI
 * appears live in another tab's audit log, under the logged-in token's name; a converge run and
 * the stack's last plan appear live (sensitive values as "(sensitive)").
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startUi, type Ui } from "./helpers/browser.js";

let ui: Ui;
let adminName: string;

const KEY = "cfg/app/port";
const value = async (key: string): Promise<{ text: string; rev: number }> => {
  const r = await ui.request<{ value: string; modRevision: number }>("GET", `/v1/kv/${key}`);
  expect(r.status).toBe(200);
  return { text: Buffer.from(r.body.value, "base64").toString(), rev: r.body.modRevision };
};
const editor = (p: Page) => p.getByTestId("kv-value");

beforeAll(async () => {
  ui = await startUi({ inProcess: true });
  await ui.seed({ kv: { [KEY]: "8080", "cfg/other": "x" } });
  adminName = (await ui.request<{ name: string }>("GET", "/v1/tokens/self")).body.name;
  await ui.login(ui.page);
}, 180_000);

afterAll(async () => {
  await ui?.close();
});

it("browses folders to a key", async () => {
  const page = ui.page;
  await ui.open(page, "/kv");
  await page.getByRole("link", { name: /cfg\// }).click();
  await page.getByRole("link", { name: /^app\// }).click();
  await page.getByRole("link", { name: "port", exact: true }).click();
  await expect.poll(() => editor(page).inputValue()).toBe("8080");
  expect(new URL(page.url()).pathname).toBe(`/ui/kv/${KEY}`);
  await ui.screenshot(page, "kv-key");
});

it("refuses a save on a stale revision, shows the current value, overwrites nothing", async () => {
  const page = ui.page;
  await ui.open(page, `/kv/${KEY}`);
  await expect.poll(() => editor(page).inputValue()).toBe("8080");
  const loaded = await value(KEY);
  await editor(page).fill("9090");
  // Someone else changes the key after the page loaded it.
  expect((await ui.request("PUT", `/v1/kv/${KEY}`, "7070")).status).toBe(200);
  const theirs = await value(KEY);
  expect(theirs.rev).toBeGreaterThan(loaded.rev);
  await page.getByTestId("kv-save").click();
  const conflict = page.getByTestId("kv-conflict");
  await conflict.waitFor({ timeout: 5000 });
  await expect.poll(() => page.getByTestId("kv-conflict-value").textContent()).toBe("7070");
  expect(await page.getByTestId("kv-conflict-revision").textContent()).toBe(String(theirs.rev));
  expect(await editor(page).inputValue()).toBe("9090"); // the user's edit is kept
  expect((await value(KEY)).text).toBe("7070"); // nothing overwritten
  await ui.screenshot(page, "kv-conflict");

  // "Use theirs": the editor takes the current value and revision; a save then works.
  await page.getByTestId("kv-theirs").click();
  expect(await editor(page).inputValue()).toBe("7070");
  expect(await conflict.count()).toBe(0);
  await editor(page).fill("9191");
  await page.getByTestId("kv-save").click();
  await page.getByTestId("kv-saved").waitFor({ timeout: 5000 });
  expect((await value(KEY)).text).toBe("9191");
});

it("overwrites on request after a refusal, and saves without conflict", async () => {
  const page = ui.page;
  await ui.open(page, `/kv/${KEY}`);
  await expect.poll(() => editor(page).inputValue()).toBe("9191");
  // Changed elsewhere before the user typed: the editor keeps what it loaded and says so.
  await ui.request("PUT", `/v1/kv/${KEY}`, "6060");
  await page.getByTestId("kv-changed").waitFor({ timeout: 5000 });
  await editor(page).fill("5050");
  await page.getByTestId("kv-save").click();
  await page.getByTestId("kv-conflict").waitFor({ timeout: 5000 });
  expect((await value(KEY)).text).toBe("6060");
  await page.getByTestId("kv-overwrite").click();
  await page.getByTestId("kv-saved").waitFor({ timeout: 5000 });
  expect((await value(KEY)).text).toBe("5050");
  // A second save on the revision just written needs no choice.
  await editor(page).fill("4040");
  await page.getByTestId("kv-save").click();
  await expect.poll(async () => (await value(KEY)).text).toBe("4040");
  expect(await page.getByTestId("kv-conflict").count()).toBe(0);
});

it("creates a token whose secret works once shown, then revokes it", async () => {
  const page = ui.page;
  await ui.open(page, "/tokens");
  await page.getByTestId("token-name").fill("ui-made");
  await page.getByTestId("token-role").selectOption("viewer");
  await page.getByTestId("token-create").click();
  const secretBox = page.getByTestId("token-secret");
  await secretBox.waitFor({ timeout: 5000 });
  const secret = (await secretBox.textContent())!.trim();
  expect(secret.length).toBeGreaterThan(20);
  await ui.screenshot(page, "tokens-secret");
  const self = await ui.request<{ name: string; role?: string }>(
    "GET",
    "/v1/tokens/self",
    undefined,
    secret,
  );
  expect(self.status).toBe(200);
  expect(self.body).toMatchObject({ name: "ui-made", role: "viewer" });
  // Shown once: closing the dialog forgets it.
  await page.getByRole("button", { name: "Done" }).click();
  await page.getByTestId("token-row-ui-made").waitFor({ timeout: 5000 });
  expect(await page.content()).not.toContain(secret);

  await page.getByTestId("token-revoke-ui-made").click();
  await page.getByTestId("confirm").getByRole("button", { name: "Revoke" }).click();
  await expect.poll(() => page.getByTestId("token-row-ui-made").count(), { timeout: 5000 }).toBe(0);
  expect((await ui.request("GET", "/v1/tokens/self", undefined, secret)).status).toBe(401);
});

it("shows an action done in the UI live in another tab's audit log, as the logged-in token", async () => {
  const auditTab = await ui.newPage();
  await ui.login(auditTab);
  await ui.open(auditTab, "/audit");
  await auditTab.getByTestId("audit-row").first().waitFor({ timeout: 5000 });
  const rowsBefore = await auditTab.getByTestId("audit-row").count();

  const page = ui.page;
  await ui.open(page, "/kv/cfg/other");
  await expect.poll(() => editor(page).inputValue()).toBe("x");
  await editor(page).fill("changed-in-ui");
  await page.getByTestId("kv-save").click();
  await page.getByTestId("kv-saved").waitFor({ timeout: 5000 });

  // No reload of the audit tab: the entry arrives on the event stream.
  const top = auditTab.getByTestId("audit-row").first();
  await expect
    .poll(async () => (await top.getByTestId("audit-target").textContent()) ?? "", {
      timeout: 3000,
    })
    .toBe("cfg/other");
  expect(await top.getByTestId("audit-action").textContent()).toBe("kv.put");
  expect(await top.getByTestId("audit-token").textContent()).toBe(adminName);
  expect(await auditTab.getByTestId("audit-row").count()).toBe(rowsBefore + 1);

  // Filters run on the server: the seed's put and the UI's.
  await auditTab.getByTestId("audit-filter-action").fill("kv");
  await auditTab.getByTestId("audit-filter-target").fill("CFG/OTHER");
  await auditTab.getByTestId("audit-filter-apply").click();
  await expect
    .poll(async () => auditTab.getByTestId("audit-target").allTextContents(), { timeout: 5000 })
    .toEqual(["cfg/other", "cfg/other"]);
  await ui.screenshot(auditTab, "audit");
  // Refused requests (the 409s above, the 401 before logging in) are logged by the browser as
  // failed loads; anything else (an exception, a React error) is not expected.
  const unexpected = (p: Page): string[] =>
    ui.errors(p).filter((e) => !e.startsWith("console: Failed to load resource"));
  expect(unexpected(auditTab)).toEqual([]);
  expect(unexpected(page)).toEqual([]);
});

it("tells a non-admin that tokens and audit need an admin token", async () => {
  const viewer = await ui.makeToken("ui-viewer", { role: "viewer" });
  const page = await ui.newPage();
  await ui.login(page, viewer);
  for (const path of ["/tokens", "/audit"]) {
    await ui.open(page, path);
    await page.getByTestId("needs-admin").waitFor({ timeout: 5000 });
  }
  // A viewer reads keys but is offered no save.
  await ui.open(page, `/kv/${KEY}`);
  await expect.poll(() => editor(page).inputValue()).toBe("4040");
  expect(await editor(page).getAttribute("readonly")).not.toBeNull();
  expect(await page.getByTestId("kv-save").count()).toBe(0);
});

it("shows converge runs per node live, expanded to the changed and failed resources", async () => {
  const page = ui.page;
  await ui.open(page, "/converge");
  const now = new Date().toISOString();
  const run = {
    node: "node-a",
    triggers: [{ kind: "key", key: "cfg/app/port" }],
    startedAt: now,
    finishedAt: now,
    durationMs: 1234,
    statesHash: "a".repeat(64),
    roles: ["web"],
    summary: { ok: 3, changed: 1, failed: 1, skipped: 0 },
    resources: [
      {
        id: "nginx-conf",
        type: "file",
        name: "/etc/nginx/nginx.conf",
        state: "present",
        handler: false,
        status: "changed",
        changes: ["content"],
        durationMs: 5,
      },
      {
        id: "nginx-svc",
        type: "service",
        name: "nginx",
        state: "running",
        handler: false,
        status: "failed",
        changes: [],
        message: "nginx.service failed to start",
        durationMs: 7,
      },
      {
        id: "ok-one",
        type: "pkg",
        name: "curl",
        state: "installed",
        handler: false,
        status: "ok",
        changes: [],
        durationMs: 1,
      },
    ],
  };
  const posted = await ui.request("POST", "/v1/nodes/node-a/converge/runs", run);
  expect(posted.status).toBe(200);
  // Arrives without a reload.
  await page.getByTestId("converge-row-node-a").waitFor({ timeout: 3000 });
  expect(await page.getByTestId("converge-state-node-a").textContent()).toBe("failed");
  await page.getByRole("button", { name: /node-a/ }).click();
  const detail = page.getByTestId("converge-detail-node-a");
  await detail.waitFor({ timeout: 5000 });
  const resources = await detail.getByTestId("converge-resource").allTextContents();
  expect(resources).toHaveLength(2); // the unchanged one is left out
  expect(resources.join("\n")).toContain("/etc/nginx/nginx.conf");
  expect(resources.join("\n")).toContain("nginx.service failed to start");
  await ui.screenshot(page, "converge");
});

it("shows the stack's setup hint, then its sync state and last plan live, sensitive values hidden", async () => {
  const page = ui.page;
  await ui.open(page, "/stack");
  await page.getByTestId("stack-unused").waitFor({ timeout: 5000 });
  expect(await page.getByTestId("stack-unused").textContent()).toContain("gantry stack:connect");
  const items = await ui.request("POST", "/v1/stack/items", {
    put: [{ kind: "kv", name: "cfg/app/port", stack: "default", protect: false, specHash: "h1" }],
  });
  expect(items.status).toBe(200);
  const at = new Date().toISOString();
  const info = await ui.request("PUT", "/v1/stack/info", {
    name: "default",
    state: "synced",
    commit: "c".repeat(40),
    lastSync: { at, commit: "c".repeat(40), result: "synced" },
    lastApply: {
      at,
      by: "git sync",
      result: "ok",
      created: 1,
      updated: 1,
      replaced: 0,
      destroyed: 0,
      plan: {
        summary: { create: 1, update: 1, replace: 0, destroy: 0, orphan: 0 },
        changes: [
          {
            kind: "kv",
            name: "cfg/app/port",
            action: "update",
            fields: [{ path: "", old: '"8080"', new: '"9090"' }],
          },
          {
            kind: "app",
            name: "web",
            action: "create",
            fields: [{ path: "config.API_KEY", sensitive: true }],
          },
        ],
      },
    },
  });
  expect(info.status).toBe(200);
  await page.getByTestId("stack-plan").waitFor({ timeout: 3000 });
  const plan = await page.getByTestId("stack-plan-item").allTextContents();
  expect(plan[0]).toContain('"8080" → "9090"');
  expect(plan[1]).toContain("config.API_KEY: (sensitive)");
  expect(await page.getByTestId("stack-state").textContent()).toBe("synced");
  await page.getByTestId("stack-item-kv/cfg/app/port").waitFor({ timeout: 3000 });
  await ui.screenshot(page, "stack");
});
