/**
 * The logs page in a real browser (Debian chromium) against the API in-process: lines shipped
 * through POST /v1/apps/:app/logs appear live; search, the process filter, pause/resume, follow
 * and ANSI colours work on the page a user sees.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startUi, type Ui } from "./helpers/browser.js";

let ui: Ui;
const APP = "logsapp";
const LINE = '[data-testid="log-line"]';

beforeAll(async () => {
  ui = await startUi({ inProcess: true });
  await ui.seed({ apps: [APP] });
}, 120_000);
afterAll(async () => {
  await ui?.close();
});

const ship = async (lines: { source: string; line: string }[]): Promise<void> => {
  const r = await ui.request("POST", `/v1/apps/${APP}/logs`, { lines });
  expect(r.status).toBe(200);
};

it("follows, searches, filters by process, pauses, and draws ANSI colours", async () => {
  await ship([
    { source: "web.1", line: "hello \x1b[31mred\x1b[0m world" },
    { source: "worker.1", line: "tick" },
    { source: "web.2", line: "error: boom" },
  ]);
  const page = ui.page;
  // Exceptions thrown by the dashboard's own code (not by scripts a harness injects).
  const thrown: string[] = [];
  page.on("pageerror", (e) => {
    if (e.stack?.includes("/ui/assets/") === true) thrown.push(e.stack);
  });
  await ui.login();
  await ui.open(page, `/apps/${APP}/logs`);
  const lines = page.locator(LINE);
  await expect.poll(() => lines.count()).toBe(3);
  await expect.poll(() => page.getByTestId("log-status").getAttribute("data-state")).toBe("live");

  // ANSI: the red word is a span with its class, and no escape byte reaches the page.
  const red = page.locator(`${LINE} .ansi-red`);
  expect(await red.textContent()).toBe("red");
  expect(await lines.first().textContent()).not.toContain("\x1b");
  expect(await lines.first().locator(".log-src").textContent()).toBe("web.1");

  // Follow: a new line is on screen within a second of being shipped.
  expect(await page.getByTestId("log-follow").getAttribute("aria-pressed")).toBe("true");
  const t0 = Date.now();
  await ship([{ source: "web.1", line: "fresh line one" }]);
  await page.locator(LINE, { hasText: "fresh line one" }).waitFor({ timeout: 1000 });
  expect(Date.now() - t0).toBeLessThan(1000);

  // Search: only matching lines, the match marked; clearing shows every line again.
  await page.getByTestId("log-search").fill("BOOM");
  await expect.poll(() => lines.count()).toBe(1);
  expect(await page.locator(`${LINE} mark`).textContent()).toBe("boom");
  await page.getByTestId("log-search").fill("");
  await expect.poll(() => lines.count()).toBe(4);

  // Keyboard: / focuses the search, f toggles follow, End follows again.
  await page.getByTestId("log-view").focus();
  await page.keyboard.press("f");
  expect(await page.getByTestId("log-follow").getAttribute("aria-pressed")).toBe("false");
  await page.keyboard.press("End");
  expect(await page.getByTestId("log-follow").getAttribute("aria-pressed")).toBe("true");
  await page.keyboard.press("/");
  expect(await page.evaluate("document.activeElement?.dataset?.testid")).toBe("log-search");
  await page.keyboard.press("Escape");

  // Process filter: the stream is reopened with ?ps=worker.
  await page.getByTestId("log-ps").selectOption("worker");
  await expect.poll(() => lines.allTextContents()).toEqual([expect.stringContaining("tick")]);
  await ship([
    { source: "web.1", line: "not for workers" },
    { source: "worker.2", line: "tock" },
  ]);
  await page.locator(LINE, { hasText: "tock" }).waitFor({ timeout: 2000 });
  expect(await lines.count()).toBe(2);
  await page.getByTestId("log-ps").selectOption("");
  await expect.poll(() => lines.count()).toBe(6);

  // Pause: new lines are held (and counted), not drawn; resume draws them.
  await page.getByTestId("log-pause").click();
  expect(await page.getByTestId("log-pause").getAttribute("aria-pressed")).toBe("true");
  await ship([
    { source: "web.1", line: "held one" },
    { source: "web.1", line: "held two" },
  ]);
  await expect.poll(() => page.getByTestId("log-held").textContent()).toBe("2 new lines");
  expect(await page.locator(LINE, { hasText: "held" }).count()).toBe(0);
  await page.getByTestId("log-pause").click();
  await expect.poll(() => page.locator(LINE, { hasText: "held" }).count()).toBe(2);
  expect(await lines.count()).toBe(8);

  await ui.screenshot(page, "logs");
  expect(thrown).toEqual([]);
  // The login page's 401 on /v1/ui/session (not logged in yet) and the favicon are expected.
  expect(
    ui.errors(page).filter((e) => e.startsWith("console:") && !/ui\/session|favicon/.test(e)),
  ).toEqual([]);
}, 90_000);
