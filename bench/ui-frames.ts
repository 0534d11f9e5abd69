/**
 * What bench:ui runs inside the page (as source text: the bench is typechecked without the DOM
 * library): a frame recorder (requestAnimationFrame deltas, and the long-animation-frame entries
 * when chromium reports them) and a scroll from the top to the bottom of a scroller.
 */
import type { Page } from "playwright-core";

export interface Frames {
  /** The longest gap between two animation frames, ms. */
  longest: number;
  /** The longest long-animation-frame entry, ms (0 when none or unsupported). */
  loaf: number;
  frames: number;
  /** Which frame was the longest (0 = the first). */
  at: number;
}

const START = `(() => {
  const w = window;
  w.__frames = { last: performance.now(), longest: 0, frames: 0, loaf: 0, on: true, at: 0 };
  const tick = (t) => {
    const f = w.__frames;
    if (!f.on) return;
    if (t - f.last > f.longest) { f.longest = t - f.last; f.at = f.frames; }
    f.last = t;
    f.frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame((t) => { w.__frames.last = t; requestAnimationFrame(tick); });
  try {
    w.__loaf = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__frames.loaf = Math.max(w.__frames.loaf, e.duration);
    });
    w.__loaf.observe({ type: "long-animation-frame", buffered: false });
  } catch {}
})()`;

const STOP = `(() => {
  const f = window.__frames;
  f.on = false;
  window.__loaf?.disconnect();
  return { longest: f.longest, loaf: f.loaf, frames: f.frames, at: f.at };
})()`;

/** Record frames while `during` runs. */
export async function recordFrames(page: Page, during: () => Promise<void>): Promise<Frames> {
  await page.evaluate(START);
  await during();
  return (await page.evaluate(STOP)) as Frames;
}

/** Scroll `selector` from top to bottom in `steps` animation frames (one step per frame). */
export async function scrollThrough(page: Page, selector: string, steps: number): Promise<void> {
  await page.evaluate(`new Promise((done) => {
    const el = document.querySelector(${JSON.stringify(selector)});
    el.scrollTop = 0;
    let i = 0;
    const step = () => {
      i++;
      el.scrollTop = Math.round(((el.scrollHeight - el.clientHeight) * i) / ${steps});
      if (i < ${steps}) requestAnimationFrame(step);
      else requestAnimationFrame(() => done());
    };
    requestAnimationFrame(step);
  })`);
}

/** Whether chromium reports long-animation-frame entries. */
export async function hasLoaf(page: Page): Promise<boolean> {
  return (await page.evaluate(
    `PerformanceObserver.supportedEntryTypes.includes("long-animation-frame")`,
  )) as boolean;
}
