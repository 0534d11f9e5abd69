/**
 * The logs page survives a server restart: the stream drops, the page says so, reconnects with
 * `since=` the last line's time, and shows the lines shipped meanwhile exactly once. Against a
 * real `gantry up` (dist/: `npm run build` first), stopped and started on the same data.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startUi, type Ui } from "./helpers/browser.js";

let ui: Ui;
const APP = "relogs";
const LINE = '[data-testid="log-line"]';

beforeAll(async () => {
  ui = await startUi();
  await ui.seed({ apps: [APP] });
}, 120_000);
afterAll(async () => {
  await ui?.close();
});

const ship = async (lines: string[]): Promise<void> => {
  const r = await ui.request("POST", `/v1/apps/${APP}/logs`, {
    lines: lines.map((line) => ({ source: "web.1", line })),
  });
  expect(r.status).toBe(200);
};

it("reconnects after the server restarts, with no line twice and none lost", async () => {
  // Every line of one same time (the last line's, which the resume asks from): the server sends
  // them all again, and the page must skip exactly the ones it has, duplicates included.
  const time = new Date().toISOString();
  await ui.request("POST", `/v1/apps/${APP}/logs`, {
    lines: ["same a", "same b", "same b", "before restart"].map((line) => ({
      source: "web.1",
      line,
      time,
    })),
  });
  const page = ui.page;
  await ui.login();
  await ui.open(page, `/apps/${APP}/logs`);
  const status = page.getByTestId("log-status");
  await expect.poll(() => status.getAttribute("data-state")).toBe("live");
  await expect.poll(() => page.locator(LINE).count()).toBe(4);

  await ui.gantry!.stop();
  await expect.poll(() => status.getAttribute("data-state")).toBe("reconnecting");
  await ui.gantry!.start();
  await ship(["after restart"]);

  await page.locator(LINE, { hasText: "after restart" }).waitFor({ timeout: 20_000 });
  expect(await status.getAttribute("data-state")).toBe("live");
  const texts = (await page.locator(`${LINE} .log-text`).allTextContents()).sort();
  expect(texts).toEqual(["after restart", "before restart", "same a", "same b", "same b"]);
}, 120_000);
