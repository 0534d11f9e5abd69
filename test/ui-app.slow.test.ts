/**
 * The app page in a real browser (Debian's chromium) against `gantry up`: an app pushed once
 * (v1) and given a config var (v2, through the API, as `gantry config:set` does). The page shows
 * v2; the config value is not in the page until "Reveal"; a rollback from the UI (confirmed)
 * makes v3 with v1's config, and the page follows live; scaling from the UI changes the
 * formation in the API and the instances shown; a viewer is offered none of these.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PHONE, startUi, type Ui } from "./helpers/browser.js";
import { HELLO, createApp, eventually, localRepo, push } from "./helpers/paas.js";

const APP = "hello";
const SECRET = "s3cret-value-of-v2";

interface AppInfo {
  currentRelease: number;
  formation: Record<string, number>;
}
interface ReleaseView {
  version: number;
  description: string;
  configNames: string[];
  status: string;
}

let ui: Ui;
let work: string;

const info = async (): Promise<AppInfo> =>
  (await ui.request<AppInfo>("GET", `/v1/apps/${APP}`)).body;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-ui-app-"));
  ui = await startUi();
  const pushed = await push(await localRepo(work, HELLO), await createApp(ui.gantry!, APP));
  expect(pushed.code, pushed.stderr).toBe(0);
  const set = await ui.request<{ changed: boolean; version: number }>(
    "PUT",
    `/v1/apps/${APP}/config`,
    { set: { GREETING: SECRET } },
  );
  expect(set.body).toEqual({ changed: true, version: 2 });
  await eventually("v2 serving", async () => (await info()).currentRelease === 2, 60_000);
}, 240_000);

afterAll(async () => {
  await ui?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** The page's errors, without the login page's 401 (no session yet) and the missing favicon. */
const pageErrors = (p: Page): string[] =>
  ui.errors(p).filter((e) => !/status of 401 .*\/v1\/ui\/session|favicon\.ico/.test(e));

/** The page's text as a person (or a script reading the DOM) would get it. */
const html = (p: Page): Promise<string> => p.content();

it("shows the current release, hides config values until Reveal", async () => {
  const page = ui.page;
  await ui.login(page);
  await ui.open(page, `/apps/${APP}`);
  await expect.poll(() => page.getByTestId("release-current").textContent()).toBe("v2");
  await page.getByTestId("deploy-progress").waitFor();
  await ui.screenshot(page, "app-overview");

  await ui.open(page, `/apps/${APP}/config`);
  const row = page.getByTestId("config-row-GREETING");
  await row.waitFor();
  expect(await html(page)).not.toContain(SECRET);
  await row.getByRole("button", { name: "Reveal" }).click();
  await expect.poll(() => row.textContent()).toContain(SECRET);
  await row.getByRole("button", { name: "Hide" }).click();
  await expect.poll(async () => (await html(page)).includes(SECRET)).toBe(false);
  expect(pageErrors(page)).toEqual([]);
}, 60_000);

it("offers a viewer no rollback, scale or config values", async () => {
  const viewer = await ui.makeToken("ui-app-viewer", { role: "viewer" });
  const page = await ui.newPage();
  await ui.login(page, viewer);
  await ui.open(page, `/apps/${APP}/releases`);
  await page.getByTestId("release-row-v1").waitFor();
  expect(await page.getByRole("button", { name: "Roll back" }).count()).toBe(0);
  await ui.open(page, `/apps/${APP}/instances`);
  await page.getByTestId("instance-row").first().waitFor();
  expect(await page.getByTestId("scale-apply").count()).toBe(0);
  await ui.open(page, `/apps/${APP}/config`);
  // The names are shown (they are not secret); the values are not offered.
  await page.getByTestId("config-row-GREETING").waitFor();
  expect(await page.getByRole("button", { name: "Reveal" }).count()).toBe(0);
  expect(await page.getByTestId("config-set").count()).toBe(0);
  expect(await html(page)).not.toContain(SECRET);
}, 60_000);

it("rolls back from the UI behind a confirmation; the page follows live", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}/releases`);
  const v1 = page.getByTestId("release-row-v1");
  await v1.waitFor();
  // The current release has no Roll back; the older one has.
  expect(await page.getByTestId("release-row-v2").getByRole("button").count()).toBe(0);
  await v1.getByRole("button", { name: "Roll back" }).click();
  const dialog = page.getByTestId("confirm");
  await dialog.waitFor();
  expect(await dialog.textContent()).toContain("v1");
  await ui.screenshot(page, "app-rollback-confirm");
  // Cancel does nothing.
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await dialog.waitFor({ state: "detached" });
  expect((await info()).currentRelease).toBe(2);

  await v1.getByRole("button", { name: "Roll back" }).click();
  await page.getByTestId("confirm").getByRole("button", { name: "Confirm" }).click();
  // A new release v3 marked as a rollback to v1, without v2's config, in the API...
  const releases = await eventually("the rollback release", async () => {
    const r = (await ui.request<ReleaseView[]>("GET", `/v1/apps/${APP}/releases`)).body;
    return r.length === 3 ? r : undefined;
  });
  expect(releases[2]).toMatchObject({ version: 3, description: "Rollback to v1" });
  expect(releases[2]!.configNames).toEqual(releases[0]!.configNames);
  expect(releases[2]!.configNames).not.toContain("GREETING");
  const config = await ui.request<{ values: Record<string, string> }>(
    "GET",
    `/v1/apps/${APP}/config`,
  );
  expect(config.body.values["GREETING"]).toBeUndefined();
  // ...and on the page, with no reload: the new row, then the current release once deployed.
  await page.getByTestId("release-row-v3").waitFor({ timeout: 10_000 });
  await eventually("v3 serving", async () => (await info()).currentRelease === 3, 60_000);
  await expect
    .poll(() => page.getByTestId("release-current").textContent(), { timeout: 5_000 })
    .toBe("v3");
  await ui.screenshot(page, "app-releases");
  expect(pageErrors(page)).toEqual([]);
}, 120_000);

it("scales from the UI: the formation changes in the API and the instances follow", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}/instances`);
  // The rollback's old instance drains away first.
  await expect.poll(() => page.getByTestId("instance-row").count(), { timeout: 30_000 }).toBe(1);
  const input = page.getByTestId("scale-web");
  expect(await input.inputValue()).toBe("1");
  await input.fill("2");
  await page.getByTestId("scale-apply").click();
  await eventually("formation web=2", async () => (await info()).formation["web"] === 2);
  await expect.poll(() => page.getByTestId("instance-row").count(), { timeout: 30_000 }).toBe(2);
  await ui.screenshot(page, "app-instances");
  expect(pageErrors(page)).toEqual([]);
}, 90_000);

it("sets a config var from the UI: a new release with it, shown live", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}/config`);
  const before = (await info()).currentRelease;
  await page.getByTestId("config-name").fill("COLOR");
  await page.getByTestId("config-value").fill("blue-from-the-ui");
  await page.getByTestId("config-set").click();
  await page.getByTestId("config-row-COLOR").waitFor({ timeout: 10_000 });
  const config = await ui.request<{ values: Record<string, string> }>(
    "GET",
    `/v1/apps/${APP}/config`,
  );
  expect(config.body.values["COLOR"]).toBe("blue-from-the-ui");
  const releases = (await ui.request<ReleaseView[]>("GET", `/v1/apps/${APP}/releases`)).body;
  expect(releases.at(-1)).toMatchObject({ version: before + 1, description: "Set COLOR" });
  // The value typed is not left in the form, and the new row's value is hidden.
  expect(await html(page)).not.toContain("blue-from-the-ui");
  expect(pageErrors(page)).toEqual([]);
}, 30_000);

it("follows a deploy's progress live on the overview", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}`);
  const progress = page.getByTestId("deploy-progress");
  await progress.waitFor();
  const set = await ui.request<{ version: number }>("PUT", `/v1/apps/${APP}/config`, {
    set: { SHADE: "dark" },
  });
  const v = set.body.version;
  // No reload: the stream brings the new deploy, then its end.
  await expect.poll(() => progress.textContent(), { timeout: 30_000 }).toContain(`→ v${v}`);
  await expect
    .poll(() => progress.getAttribute("data-status"), { timeout: 60_000 })
    .toBe("succeeded");
  const web = (await info()).formation["web"] ?? 0;
  await expect
    .poll(() => page.getByTestId("deploy-new").textContent(), { timeout: 10_000 })
    .toBe(`${web}/${web} healthy`);
  expect(await page.getByTestId("release-current").textContent()).toBe(`v${v}`);
  await ui.screenshot(page, "app-deploy");
  expect(pageErrors(page)).toEqual([]);
}, 90_000);

it("reaches the tabs from the keyboard", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}`);
  const target = page.getByRole("navigation", { name: "app" }).getByRole("link", {
    name: "Instances",
  });
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await target.evaluate((el) => el === el.ownerDocument.activeElement);
  }
  expect(reached).toBe(true);
  await page.keyboard.press("Enter");
  await expect.poll(() => target.getAttribute("aria-current")).toBe("page");
  expect(new URL(page.url()).pathname).toBe(`/ui/apps/${APP}/instances`);
}, 30_000);

it("shows a build's log on click", async () => {
  const page = ui.page;
  await ui.open(page, `/apps/${APP}/builds`);
  const row = page.locator('[data-testid^="build-row-"]');
  await expect.poll(() => row.count()).toBe(1);
  expect(await row.textContent()).toContain("succeeded");
  await row.getByRole("button").click();
  const log = page.getByTestId("build-log");
  await expect
    .poll(async () => ((await log.textContent()) ?? "").split("\n").length)
    .toBeGreaterThan(2);
  // The file's time stamps are stripped: lines start with the build's own words.
  expect(await log.textContent()).not.toMatch(/^\d{4}-\d\d-\d\dT/m);
  await ui.screenshot(page, "app-build-log");
  expect(pageErrors(page)).toEqual([]);
}, 30_000);

it("says so for an app that does not exist", async () => {
  const page = ui.page;
  await ui.open(page, "/apps/nope");
  await expect.poll(() => page.getByRole("alert").first().textContent()).toMatch(/nope/);
  expect(await page.getByRole("link", { name: "Back to the apps" }).count()).toBe(1);
}, 30_000);

it("fits a 360 px phone without sideways page scrolling", async () => {
  const page = await ui.newPage({ viewport: PHONE });
  await ui.login(page);
  for (const tab of ["", "/releases", "/instances", "/config", "/domains", "/builds"]) {
    await ui.open(page, `/apps/${APP}${tab}`);
    await page.locator('table, .empty, [data-testid="deploy-progress"]').first().waitFor();
    const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
    expect(width, `/apps/${APP}${tab}`).toBeLessThanOrEqual(PHONE.width);
  }
  await ui.screenshot(page, "app-phone");
}, 60_000);
