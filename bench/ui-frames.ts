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
  /** The median and 99th percentile frame, ms. */
  p50: number;
  p99: number;
}

const START = `(() => {
  const w = window;
  // Each recording has its own object: a loop left from the last one stops on its own.
  const f = { last: performance.now(), longest: 0, frames: 0, loaf: 0, on: true, at: 0, deltas: [] };
  w.__frames = f;
  const tick = (t) => {
    if (!f.on) return;
    if (t - f.last > f.longest) { f.longest = t - f.last; f.at = f.frames; }
    f.deltas.push(t - f.last);
    f.last = t;
    f.frames++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame((t) => { f.last = t; requestAnimationFrame(tick); });
  try {
    w.__loaf = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) f.loaf = Math.max(f.loaf, e.duration);
    });
    w.__loaf.observe({ type: "long-animation-frame", buffered: false });
  } catch {}
})()`;

const STOP = `(() => {
  const f = window.__frames;
  f.on = false;
  window.__loaf?.disconnect();
  const d = f.deltas.sort((a, b) => a - b);
  const q = (x) => d.length === 0 ? 0 : d[Math.min(d.length - 1, Math.floor(d.length * x))];
  return { longest: f.longest, loaf: f.loaf, frames: f.frames, at: f.at, p50: q(0.5), p99: q(0.99) };
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
