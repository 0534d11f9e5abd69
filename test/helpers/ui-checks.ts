/**
 * Generic checks of a dashboard page in the browser, true of any page: layout shift (CLS), every
 * control reachable by Tab with a visible focus ring, no horizontal overflow of the page.
 */
import type { BrowserContext, Page } from "playwright-core";

// The browser's globals as far as these checks use them (the tests' tsconfig has no DOM lib;
// declared here, in this module only, so no other file sees them).
interface El {
  tagName: string;
  nodeName: string;
  className: unknown;
  tabIndex: number;
  disabled?: boolean;
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  closest(selector: string): El | null;
  getClientRects(): { length: number };
  blur(): void;
  parentElement: El | null;
}
interface Shift {
  value: number;
  hadRecentInput: boolean;
  sources?: { node?: El | null }[];
}
interface Cls {
  value: number;
  shifts: string[];
}
declare const document: {
  documentElement: { scrollWidth: number };
  body: { scrollWidth: number };
  activeElement: El | null;
  querySelectorAll(selector: string): Iterable<El>;
};
declare const window: { __gantryCls?: Cls; scrollTo(x: number, y: number): void };
declare function getComputedStyle(el: El): {
  visibility: string;
  outlineStyle: string;
  outlineWidth: string;
  boxShadow: string;
  cursor: string;
};
declare const PerformanceObserver: new (cb: (list: { getEntries(): Shift[] }) => void) => {
  observe(opts: { type: string; buffered: boolean }): void;
};

/**
 * Sum the page's layout shifts (those not caused by input), from its very first frame: added
 * to a context, it runs before every document's own scripts.
 */
export async function observeLayoutShifts(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const acc: Cls = { value: 0, shifts: [] };
    window.__gantryCls = acc;
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.hadRecentInput) continue;
          acc.value += e.value;
          const who = (e.sources ?? [])
            .map((s) => {
              const n = s.node;
              if (n === null || n === undefined) return "?";
              const cls = typeof n.className === "string" && n.className ? `.${n.className}` : "";
              const tag = typeof n.tagName === "string" ? n.tagName.toLowerCase() : n.nodeName;
              return `${tag}${cls}`;
            })
            .join(", ");
          acc.shifts.push(`${e.value.toFixed(4)} ${who}`);
        }
      }).observe({ type: "layout-shift", buffered: true });
    } catch {
      // no layout-shift entries in this browser
    }
  });
}

/** The layout shift so far (CLS as a sum) and what moved. */
export async function layoutShift(page: Page): Promise<Cls> {
  return page.evaluate(() => window.__gantryCls ?? { value: -1, shifts: ["no observer"] });
}

/** How wide the page is; more than the viewport means it scrolls sideways. */
export async function pageScrollWidth(page: Page): Promise<number> {
  return page.evaluate(() =>
    Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  );
}

export interface TabWalk {
  /** Every visible, enabled control in the page (a short description of each). */
  controls: string[];
  /** Those Tab never reached. */
  missed: string[];
  /** Those reached whose focus showed no outline or box shadow. */
  noRing: string[];
  /**
   * Elements that look clickable (a pointer cursor) but are no control and inside none: a mouse
   * can use them, the keyboard cannot.
   */
  mouseOnly: string[];
}

/**
 * Press Tab from the top of the document until every visible control has had the focus (or
 * focus comes round again); answer what it never reached and what showed no focus ring.
 */
export async function tabWalk(page: Page, maxPresses = 600): Promise<TabWalk> {
  const { controls, mouseOnly } = await page.evaluate(() => {
    const sel =
      'a[href], button, input:not([type="hidden"]), select, textarea, summary, label, [tabindex], [contenteditable="true"]';
    const visible = (el: El): boolean =>
      el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
    const describe = (el: El): string =>
      `<${el.tagName.toLowerCase()}> ${
        el.getAttribute("data-testid") ??
        el.getAttribute("aria-label") ??
        el.getAttribute("name") ??
        (el.textContent ?? "").trim().slice(0, 40)
      }`;
    const out: string[] = [];
    let i = 0;
    for (const el of document.querySelectorAll(sel)) {
      el.removeAttribute("data-tab-probe");
      if (el.tagName === "LABEL") continue; // a label hands its clicks to its control
      if (el.tabIndex < 0 || el.disabled === true) continue;
      if (el.closest("[inert], [hidden], [aria-hidden='true']") !== null) continue;
      if (!visible(el)) continue;
      const id = String(i++);
      el.setAttribute("data-tab-probe", id);
      out.push(`${id}: ${describe(el)}`);
    }
    const mouse: string[] = [];
    for (const el of document.querySelectorAll("body *")) {
      if (getComputedStyle(el).cursor !== "pointer" || el.closest(sel) !== null) continue;
      const parent = el.parentElement;
      if (parent !== null && getComputedStyle(parent).cursor === "pointer") continue;
      if (visible(el)) mouse.push(describe(el));
    }
    document.activeElement?.blur();
    window.scrollTo(0, 0);
    return { controls: out, mouseOnly: mouse };
  });
  const seen = new Set<string>();
  const noRing = new Set<string>();
  let first: string | undefined;
  const limit = Math.min(maxPresses, controls.length * 3 + 40);
  for (let n = 0; n < limit && seen.size < controls.length; n++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(() => {
      const el = document.activeElement;
      const id = el?.getAttribute("data-tab-probe") ?? null;
      if (el === null || id === null) return { id, ring: true };
      const s = getComputedStyle(el);
      const ring =
        (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
      return { id, ring };
    });
    if (at.id === null) continue;
    if (at.id === first && seen.size > 1) break; // round again
    first ??= at.id;
    seen.add(at.id);
    if (!at.ring) noRing.add(at.id);
  }
  const byId = (id: string): string => controls.find((c) => c.startsWith(`${id}: `)) ?? id;
  return {
    controls,
    missed: controls.filter((c) => !seen.has(c.slice(0, c.indexOf(":")))),
    noRing: [...noRing].map(byId),
    mouseOnly,
  };
}

/** Buttons and links in the page's main area whose names look like a change. */
export async function writeControls(page: Page, names: RegExp): Promise<string[]> {
  const found: string[] = [];
  for (const role of ["button", "link"] as const) {
    const loc = page.locator("main").getByRole(role, { name: names });
    for (const t of await loc.allTextContents()) found.push(`${role} "${t.trim()}"`);
  }
  return found;
}
