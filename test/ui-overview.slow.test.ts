/**
 * The overview, apps, nodes, node and services pages in a real browser (Debian's chromium)
 * against the API server in-process: nodes joined through the API (as agents do), a service
 * with a failing TTL check, a deploy and an instance recorded in the store. Each page shows
 * them; a change made through the API shows within a second without a reload; a drain from
 * the UI (confirmed) drains the node in the API; a read-only token is offered no Drain.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PHONE, startUi, type Ui } from "./helpers/browser.js";

const NODES = ["n1", "n2", "n3"];
const APPS = ["alpha", "beta", "gamma"];
const FAILING = "connection refused on 5432";

let ui: Ui;

const facts = (name: string) => ({
  hostname: `${name}.example`,
  cpus: 4,
  memory: 8 * 2 ** 30,
  addresses: [`10.0.0.${name.slice(1)}`],
});

const put = async (key: string, value: unknown): Promise<void> => {
  await ui.api!.store.put(key, JSON.stringify(value));
};

beforeAll(async () => {
  ui = await startUi({ inProcess: true });
  await ui.seed({ apps: APPS });
  for (const n of NODES) {
    const r = await ui.request("PUT", `/v1/nodes/${n}`, { facts: facts(n), ttl: 300 });
    expect(r.status).toBe(200);
  }
  const reg = await ui.request("PUT", "/v1/catalog/register", {
    service: "db",
    node: "n1",
    address: "10.0.0.1",
    port: 5432,
    checks: [{ type: "ttl", name: "alive", ttl: "1h" }],
  });
  expect(reg.status).toBe(200);
  const fail = await ui.request("PUT", "/v1/checks/db/db/ttl/fail", { note: FAILING });
  expect(fail.status).toBe(200);
  // A deploy of alpha v1 (finished), and one instance of it running on n1.
  const now = new Date().toISOString();
  await put("deploys/alpha", {
    app: "alpha",
    release: 1,
    previous: 0,
    status: "succeeded",
    startedAt: now,
    finishedAt: now,
    log: [],
  });
  await put("assignments/n1/alpha-web-1-abc", {
    id: "alpha-web-1-abc",
    app: "alpha",
    release: 1,
    processType: "web",
    index: 1,
    node: "n1",
    command: "node server.js",
    kind: "run",
    desired: "running",
    healthPath: "/",
    createdAt: now,
  });
  const app = JSON.parse(
    new TextDecoder().decode((await ui.api!.store.get("apps/alpha"))!.value),
  ) as Record<string, unknown>;
  await put("apps/alpha", { ...app, currentRelease: 1 });
  await put("instances/alpha-web-1-abc", {
    id: "alpha-web-1-abc",
    app: "alpha",
    release: 1,
    processType: "web",
    index: 1,
    node: "n1",
    state: "running",
    port: 5001,
    restarts: 0,
    lastOutput: [],
    updatedAt: now,
    startedAt: now,
  });
  await ui.login();
}, 180_000);

afterAll(async () => {
  await ui?.close();
});

const row = (p: Page, id: string) => p.locator(`[data-testid="${id}"]`);

describe("lists answer in one request", () => {
  it("GET /v1/apps?status has each app's instances, state and last deploy; without it, the CLI's answer is unchanged", async () => {
    const withStatus = await ui.request<{ name: string; status?: Record<string, unknown> }[]>(
      "GET",
      "/v1/apps?status",
    );
    const alpha = withStatus.body.find((a) => a.name === "alpha");
    expect(alpha?.status).toMatchObject({
      running: 1,
      desired: 1,
      deploy: { release: 1, status: "succeeded" },
    });
    const plain = await ui.request<{ name: string; status?: unknown }[]>("GET", "/v1/apps");
    expect(plain.body.map((a) => a.name)).toEqual(APPS);
    expect(plain.body.every((a) => a.status === undefined)).toBe(true);
  });

  it("GET /v1/nodes/:name?instances has the instances on it; ?checks lists failing checks", async () => {
    const node = await ui.request<{ status: string; assigned: { app: string; state: string }[] }>(
      "GET",
      "/v1/nodes/n1?instances",
    );
    expect(node.body.status).toBe("ready");
    expect(node.body.assigned).toMatchObject([{ app: "alpha", state: "running" }]);
    const svc = await ui.request<{ name: string; failing: { output: string }[] }[]>(
      "GET",
      "/v1/catalog/services?checks",
    );
    expect(svc.body.find((s) => s.name === "db")?.failing[0]?.output).toBe(FAILING);
  });
});

describe("pages", () => {
  it("overview: nodes, apps by state, the failing check with its output, the recent deploy", async () => {
    const page = ui.page;
    await ui.open(page, "/");
    await expect.poll(() => row(page, "card-nodes-ready").textContent()).toBe("3 ready");
    expect(await row(page, "card-apps").locator(".num").textContent()).toBe("3");
    const check = row(page, "failing-check");
    expect(await check.count()).toBe(1);
    expect(await check.textContent()).toContain(FAILING);
    expect(await check.textContent()).toContain("db");
    expect(await row(page, "deploy-alpha").textContent()).toContain("v1");
    await ui.screenshot(page, "overview-d");

    // A drain through the API shows on the overview's card without a reload.
    expect((await ui.request("PUT", "/v1/nodes/n3/drain")).status).toBe(200);
    await row(page, "card-nodes-draining").waitFor({ timeout: 1000 });
    expect(await row(page, "card-nodes-draining").textContent()).toBe("1 draining");
    expect((await ui.request("DELETE", "/v1/nodes/n3/drain")).status).toBe(200);
    await row(page, "card-nodes-draining").waitFor({ state: "detached", timeout: 1000 });
  });

  it("apps: a row per app with release, instances and state; a new app appears live; the filter narrows", async () => {
    const page = ui.page;
    await ui.open(page, "/apps");
    for (const a of APPS) await row(page, `app-row-${a}`).waitFor();
    const alpha = await row(page, "app-row-alpha").textContent();
    expect(alpha).toContain("1/1");
    expect(alpha).toContain("running");
    expect(await row(page, "app-row-beta").textContent()).toContain("new");

    const started = Date.now();
    expect((await ui.request("POST", "/v1/apps", { name: "delta" })).status).toBe(201);
    await row(page, "app-row-delta").waitFor({ timeout: 1000 });
    expect(Date.now() - started).toBeLessThan(1000);

    await page.getByTestId("apps-filter").fill("del");
    await expect.poll(() => page.locator('[data-testid^="app-row-"]').count()).toBe(1);
    await page.getByTestId("apps-filter").fill("");
    await expect.poll(() => page.locator('[data-testid^="app-row-"]').count()).toBe(4);
  });

  it("nodes: state badges follow the API live; Drain from the UI (confirmed) drains the node", async () => {
    const page = ui.page;
    await ui.open(page, "/nodes");
    for (const n of NODES) expect(await row(page, `node-state-${n}`).textContent()).toBe("ready");
    expect(await row(page, "node-row-n1").textContent()).toContain("10.0.0.1");

    // Through the API: the badge turns within a second, no reload.
    expect((await ui.request("PUT", "/v1/nodes/n2/drain")).status).toBe(200);
    await page
      .locator('[data-testid="node-state-n2"]', { hasText: "draining" })
      .waitFor({ timeout: 1000 });
    await row(page, "node-row-n2").getByRole("button", { name: "Undrain" }).waitFor();

    // From the UI: Drain asks first; Cancel does nothing, Confirm drains.
    const drain = row(page, "node-row-n3").getByRole("button", { name: "Drain" });
    await drain.click();
    const dialog = page.getByTestId("confirm");
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await row(page, "node-state-n3").textContent()).toBe("ready");
    await drain.click();
    await page.getByTestId("confirm").getByRole("button", { name: "Drain" }).click();
    await page
      .locator('[data-testid="node-state-n3"]', { hasText: "draining" })
      .waitFor({ timeout: 2000 });
    const list = await ui.request<{ name: string; status: string }[]>("GET", "/v1/nodes?all");
    expect(list.body.find((n) => n.name === "n3")?.status).toBe("draining");
    await ui.screenshot(page, "nodes-d");

    // Undrain from the UI too.
    await row(page, "node-row-n3").getByRole("button", { name: "Undrain" }).click();
    await page.getByTestId("confirm").getByRole("button", { name: "Undrain" }).click();
    await page
      .locator('[data-testid="node-state-n3"]', { hasText: "ready" })
      .waitFor({ timeout: 2000 });
    expect((await ui.request("DELETE", "/v1/nodes/n2/drain")).status).toBe(200);
  });

  it("a node: facts, labels, and its instances with their state", async () => {
    const page = ui.page;
    await ui.open(page, "/nodes/n1");
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain("n1.example");
    expect(text).toContain("8.0 GiB");
    const inst = page.getByTestId("node-instance-row");
    expect(await inst.count()).toBe(1);
    expect(await inst.textContent()).toContain("alpha");
    expect(await inst.textContent()).toContain("running");
    expect(await page.getByRole("link", { name: /runs and changes on n1/ }).count()).toBe(1);
  });

  it("services: counts and state; expanding shows instances and the check's output", async () => {
    const page = ui.page;
    await ui.open(page, "/services");
    const db = row(page, "service-row-db");
    expect(await db.textContent()).toContain("0/1 passing");
    const head = db.getByRole("button");
    expect(await head.getAttribute("aria-expanded")).toBe("false");
    await head.click();
    await page.getByTestId("service-check").first().waitFor();
    expect(await db.textContent()).toContain(FAILING);
    // A check passing again shows live.
    expect((await ui.request("PUT", "/v1/checks/db/db/ttl/pass", { note: "ok" })).status).toBe(200);
    await page.locator('[data-testid="service-row-db"]', { hasText: "1/1 passing" }).waitFor({
      timeout: 1000,
    });
    await ui.screenshot(page, "services-d");
  });

  it("fit a 360 px phone without sideways page scroll", async () => {
    const page = await ui.newPage({ viewport: PHONE });
    await ui.login(page);
    const before = ui.errors(page).length;
    for (const path of ["/", "/apps", "/nodes", "/nodes/n1", "/services"]) {
      await ui.open(page, path);
      const width = await page.locator("html").evaluate((el) => el.scrollWidth);
      expect(width, path).toBeLessThanOrEqual(PHONE.width);
    }
    expect(ui.errors(page).slice(before)).toEqual([]);
    await page.context().close();
  });

  it("a read-only token sees the nodes but no Drain", async () => {
    const viewer = await ui.makeToken("viewer-d", { role: "viewer" });
    const page = await ui.newPage();
    await ui.login(page, viewer);
    await ui.open(page, "/nodes");
    await row(page, "node-row-n1").waitFor();
    expect(await page.getByRole("button", { name: /^(Drain|Undrain)$/ }).count()).toBe(0);
    await page.context().close();
  });
});
