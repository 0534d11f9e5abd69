/**
 * Every dashboard page in a real browser (Debian's chromium) against a real `gantry up` with an
 * app pushed, a node, keys: it renders with data, logs no console error, every control is
 * reachable by Tab with a visible focus ring, nothing jumps when data arrives (CLS < 0.1), a
 * 360 px phone has no sideways page scroll, and a screenshot of each (desktop and phone) lands in
 * test-artifacts/ui/. Then what a read-only token is offered, and the login link and logout.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARTIFACTS, PHONE, SHELL, startUi, type Ui } from "./helpers/browser.js";
import { createApp, HELLO, localRepo, push } from "./helpers/paas.js";
import { layoutShift, pageScrollWidth, tabWalk, writeControls } from "./helpers/ui-checks.js";

let ui: Ui;
let work: string;
let node: string;
/** What each page measured, written to test-artifacts/ui/pages.json for a look after a run. */
const measured: Record<string, unknown> = {};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-ui-pages-"));
  ui = await startUi();
  const g = ui.gantry!;
  const gitUrl = await createApp(g, "hello");
  const pushed = await push(await localRepo(work, HELLO), gitUrl);
  if (pushed.code !== 0) throw new Error(`push: ${pushed.stderr}`);
  await ui.seed({
    apps: ["api", "worker-queue"],
    kv: { "demo/greeting": "hello", "demo/feature/flag": "on", "other/key": "1" },
  });
  const nodes = await ui.request<{ name: string }[]>("GET", "/v1/nodes");
  node = nodes.body[0]!.name;
}, 180_000);

afterAll(async () => {
  if (Object.keys(measured).length > 0)
    writeFileSync(join(ARTIFACTS, "pages.json"), JSON.stringify(measured, null, 2) + "\n");
  await ui?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** Every route of web/src/routes.tsx, with data behind it. */
const pages = (): { name: string; path: string }[] => [
  { name: "overview", path: "/" },
  { name: "apps", path: "/apps" },
  { name: "app", path: "/apps/hello" },
  { name: "app-releases", path: "/apps/hello/releases" },
  { name: "app-instances", path: "/apps/hello/instances" },
  { name: "app-config", path: "/apps/hello/config" },
  { name: "app-domains", path: "/apps/hello/domains" },
  { name: "app-builds", path: "/apps/hello/builds" },
  { name: "logs", path: "/apps/hello/logs" },
  { name: "nodes", path: "/nodes" },
  { name: "node", path: `/nodes/${node}` },
  { name: "services", path: "/services" },
  { name: "kv", path: "/kv" },
  { name: "kv-prefix", path: "/kv/demo/" },
  { name: "converge", path: "/converge" },
  { name: "stack", path: "/stack" },
  { name: "audit", path: "/audit" },
  { name: "tokens", path: "/tokens" },
];
const NAMES = [
  "overview",
  "apps",
  "app",
  "app-releases",
  "app-instances",
  "app-config",
  "app-domains",
  "app-builds",
  "logs",
  "nodes",
  "node",
  "services",
  "kv",
  "kv-prefix",
  "converge",
  "stack",
  "audit",
  "tokens",
];

describe("the checks", () => {
  it("catch a layout jump, a mouse-only control, a control with no focus ring, a page too wide", async () => {
    const page = await ui.newPage({ viewport: PHONE });
    // A real navigation (not setContent), so the layout-shift observer starts with the document.
    await page.route("http://checks.invalid/", (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<!doctype html><meta name="viewport" content="width=device-width">
          <style>button:focus { outline: none }</style>
          <div id="late"></div><p style="height: 300px">text that moves</p>
          <button>no ring</button><a href="#x">fine</a>
          <div style="cursor: pointer" onclick="void 0">mouse only</div>
          <div style="width: 500px">wide</div>
          <script>
            setTimeout(() => requestAnimationFrame(() => {
              document.getElementById("late").style.height = "400px";
              setTimeout(() => (document.body.dataset.done = "1"), 300);
            }), 300);
          </script>`,
      }),
    );
    await page.goto("http://checks.invalid/");
    await page.locator("body[data-done]").waitFor();
    expect((await layoutShift(page)).value).toBeGreaterThan(0.1);
    const walk = await tabWalk(page);
    expect(walk.controls).toHaveLength(2);
    expect(walk.missed).toEqual([]);
    expect(walk.noRing).toEqual(["0: <button> no ring"]);
    expect(walk.mouseOnly).toEqual(["<div> mouse only"]);
    expect(await pageScrollWidth(page)).toBeGreaterThan(PHONE.width);
    await page.context().close();
  });
});

describe("every page", () => {
  it("the list covers every route", () => {
    expect(pages().map((p) => p.name)).toEqual(NAMES);
  });

  it.each(NAMES)(
    "%s: renders with data, no console error, Tab reaches every control, no jump, fits a phone",
    async (name) => {
      const { path } = pages().find((p) => p.name === name)!;
      const page = await ui.newPage();
      await ui.login(page);
      const before = ui.errors(page).length;
      await ui.open(page, path);
      // Let the first live refetches settle before measuring.
      await page.waitForTimeout(700);

      const shift = await layoutShift(page);
      expect(shift.value, `layout shifts on ${path}: ${shift.shifts.join("; ")}`).toBeLessThan(0.1);
      await ui.screenshot(page, `${name}-desktop`);

      const idleFrom = Date.now();
      const walk = await tabWalk(page);
      // Nothing polls: once loaded, a page asks again only when the event stream says so.
      const idle = ui
        .requests(page)
        .filter((r) => r.at >= idleFrom && r.what.startsWith("GET /v1/"))
        .map((r) => r.what);
      expect(idle, `requests while idle on ${path} (a page must not poll)`).toEqual([]);
      expect(walk.controls.length, "the page has controls (the shell's at least)").toBeGreaterThan(
        0,
      );
      expect(walk.missed, `controls Tab never reached on ${path}`).toEqual([]);
      expect(walk.noRing, `controls with no visible focus on ${path}`).toEqual([]);
      expect(walk.mouseOnly, `clickable but not by keyboard on ${path}`).toEqual([]);

      // The phone in the dark scheme: both looks get a screenshot.
      await page.setViewportSize(PHONE);
      await page.emulateMedia({ colorScheme: "dark" });
      await ui.open(page, path);
      await page.waitForTimeout(300);
      const width = await pageScrollWidth(page);
      const phoneShift = await layoutShift(page);
      measured[name] = {
        path,
        cls: shift,
        phoneCls: phoneShift,
        controls: walk.controls,
        phoneScrollWidth: width,
        requestsWhileIdle: idle,
      };
      expect(width, `${path} scrolls sideways at 360 px`).toBeLessThanOrEqual(PHONE.width);
      expect(
        phoneShift.value,
        `layout shifts on a phone: ${phoneShift.shifts.join("; ")}`,
      ).toBeLessThan(0.1);
      await ui.screenshot(page, `${name}-phone`);

      expect(ui.errors(page).slice(before), `console errors on ${path}`).toEqual([]);
      await page.context().close();
    },
    60_000,
  );
});

describe("on a phone", () => {
  it("every link of the header can be scrolled to and clicked", async () => {
    const page = await ui.newPage({ viewport: PHONE });
    await ui.login(page);
    const links = page.locator("header nav").getByRole("link");
    const n = await links.count();
    expect(n).toBeGreaterThan(5);
    for (let i = 0; i < n; i++) {
      const link = links.nth(i);
      const name = (await link.textContent()) ?? "";
      await link.click({ timeout: 3000 });
      await expect
        .poll(() => link.getAttribute("aria-current"), { message: `${name} opened` })
        .toBe("page");
    }
    await page.context().close();
  }, 60_000);
});

/**
 * Names of buttons a viewer may not use: changes, and revealing config values (a viewer reads
 * names, never values).
 */
const WRITES =
  /^(drain|undrain|roll ?back|scale|apply|save|set|unset|add|delete|remove|destroy|revoke|rotate|restart|create|new|reveal)\b/i;

describe("a read-only token", () => {
  it("is offered no change, no admin page, on any page", async () => {
    const viewer = await ui.makeToken("ui-viewer", { role: "viewer" });
    const page = await ui.newPage();
    await ui.login(page, viewer);
    const nav = page.locator("header nav");
    await expect.poll(() => nav.getByRole("link").count()).toBeGreaterThan(3);
    expect(await nav.getByRole("link", { name: "Tokens" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "Audit" }).count()).toBe(0);
    for (const p of pages().filter((x) => x.name !== "audit" && x.name !== "tokens")) {
      await ui.open(page, p.path);
      await page.waitForTimeout(200);
      expect(await writeControls(page, WRITES), `change offered to a viewer on ${p.path}`).toEqual(
        [],
      );
      for (const id of ["scale-apply", "kv-save"])
        expect(await page.getByTestId(id).count(), `${id} on ${p.path}`).toBe(0);
    }
    await ui.screenshot(page, "viewer-node");
    await page.context().close();
  }, 90_000);

  it("while an admin is offered Drain on the node and its row", async () => {
    const page = await ui.newPage();
    await ui.login(page);
    await ui.open(page, "/nodes");
    await expect
      .poll(() =>
        page.getByTestId(`node-row-${node}`).getByRole("button", { name: /drain/i }).count(),
      )
      .toBe(1);
    await page.context().close();
  }, 60_000);
});

describe("logging in and out", () => {
  it("a login link logs in once; used again it lands on the login page saying so", async () => {
    const link = await ui.loginLink();
    expect(link).toMatch(/\/ui\/login\?code=/);
    const page = await ui.newPage();
    await page.goto(link);
    await page.locator(SHELL).waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).pathname).toBe("/ui/");
    expect(page.url()).not.toContain("code=");
    await expect.poll(() => page.locator('[data-ready="true"]').count()).toBeGreaterThan(0);
    expect(await page.locator(".who").textContent()).toMatch(/admin/);

    const again = await ui.newPage();
    await again.goto(link);
    expect(new URL(again.url()).pathname).toBe("/ui/login");
    expect(new URL(again.url()).searchParams.get("error")).toBe("link");
    await expect
      .poll(() => again.getByRole("alert").textContent())
      .toMatch(/used or has expired.*gantry ui/);
    expect(await again.locator('input[name="token"]').count()).toBe(1);
    await ui.screenshot(again, "login-link-used");
    await again.context().close();
    await page.context().close();
  }, 60_000);

  it("gantry ui --json prints a link that logs in", async () => {
    const r = await ui.gantry!.cli(["ui", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const { url } = JSON.parse(r.stdout) as { url: string };
    const page = await ui.newPage();
    await page.goto(url);
    await page.locator(SHELL).waitFor({ timeout: 15_000 });
    await page.context().close();
  }, 60_000);

  it("logging out ends the session: the cookie no longer works and a reload asks to log in", async () => {
    const page = await ui.newPage();
    await ui.login(page);
    await ui.screenshot(page, "overview-logged-in");
    const cookie = (await page.context().cookies()).find((c) => c.name === "gantry_session");
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe("Strict");
    const session = (): Promise<number> =>
      fetch(`${ui.url}/v1/ui/session`, {
        headers: { cookie: `gantry_session=${cookie!.value}` },
      }).then((r) => r.status);
    expect(await session()).toBe(200);

    await page.getByRole("button", { name: "Log out" }).click();
    await page.locator('input[name="token"]').waitFor();
    expect(await session()).toBe(401);
    await page.reload();
    await page.locator('input[name="token"]').waitFor();
    expect(await page.locator(SHELL).count()).toBe(0);
    await ui.screenshot(page, "login");
    await page.context().close();
  }, 60_000);
});
