/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core (browser downloads
 * are not possible here; scripts/install-test-deps.sh installs `chromium`), against a real Gantry
 * server — `gantry up` as a process by default (a node, its agent, the router, the controllers),
 * or the API server in-process over an embedded store (`inProcess: true`: faster, no built dist/
 * needed, no node). One browser per test file (`startUi` in beforeAll), a fresh context per test
 * (`ui.newPage()`), screenshots to test-artifacts/ui/<name>.png.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from "node:fs";
import { join, resolve } from "node:path";
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from "playwright-core";
import type { Policy } from "../../src/model/token.js";
import { startTestApi, type TestApi } from "./api.js";
import { startGantry, type GantryProcess, type StartOptions } from "./gantry.js";
import { stopGantry } from "./paas.js";
import { observeLayoutShifts } from "./ui-checks.js";

export const CHROMIUM = process.env["GANTRY_TEST_CHROMIUM"] ?? "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "../..");
export const ARTIFACTS = join(ROOT, "test-artifacts", "ui");
/** What the logged-in shell shows (the header's live indicator). */
export const SHELL = '[data-testid="live-status"]';
/** A page whose first data arrived (components/page.tsx). */
export const READY = '[data-ready="true"]';

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 360, height: 740 } as const;

/** Launch chromium headless (we run as root: no sandbox). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run scripts/install-test-deps.sh (apt: chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"],
  });
}

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, e)));
  return newest;
}

/**
 * `vite build web` into a folder of its own, then moved to web/dist at once, so a server of a
 * test running meanwhile never reads a half-written web/dist. When the build fails and an older
 * one exists (someone's half-written page in a shared tree), that one is used, with a warning;
 * with none, the failure is the test's.
 */
function build(index: string): void {
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const dist = join(ROOT, "web", "dist");
  const fresh = join(ROOT, "web", `.dist-build-${process.pid}`);
  try {
    execFileSync(
      process.execPath,
      [vite, "build", "web", "--logLevel", "warn", "--outDir", fresh, "--emptyOutDir"],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    const old = `${fresh}-old`;
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(fresh, dist);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    const e = err as { stderr?: Buffer; message: string };
    const why = e.stderr?.toString().trim() || e.message;
    if (!existsSync(index)) throw new Error(`vite build web failed:\n${why}`);
    process.stderr.write(`warning: vite build web failed; using the older web/dist:\n${why}\n`);
  }
}

let built = false;
/**
 * Build web/dist (`vite build web`) when it is missing or older than its sources; once per test
 * process. A lock directory keeps test files running in parallel from building at once.
 */
export async function ensureWebBuilt(): Promise<void> {
  if (built) return;
  const index = join(ROOT, "web", "dist", "index.html");
  const sources = [
    join(ROOT, "web", "src"),
    join(ROOT, "web", "index.html"),
    join(ROOT, "web", "vite.config.ts"),
    join(ROOT, "src", "model", "policy-match.ts"),
  ];
  const stale = (): boolean => newestMtime(index) < Math.max(...sources.map((s) => newestMtime(s)));
  if (stale()) {
    const lock = join(ROOT, "node_modules", ".gantry-web-build-lock");
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        mkdirSync(lock);
        break;
      } catch {
        // A lock older than 2 minutes is left over from a killed run.
        const st = statSync(lock, { throwIfNoEntry: false });
        if (st !== undefined && Date.now() - st.mtimeMs > 120_000) rmdirSync(lock);
        if (Date.now() > deadline) throw new Error(`${lock} held for 2 minutes`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    try {
      if (stale()) build(index);
    } finally {
      rmdirSync(lock);
    }
  }
  built = true;
}

export interface UiOptions {
  /** The API server in-process over an embedded store, instead of `gantry up`. */
  inProcess?: boolean;
  /** Options for `gantry up` (see test/helpers/gantry.ts). */
  gantry?: StartOptions;
}

export interface Ui {
  /** The server's base URL (the dashboard is at `${url}/ui/`). */
  url: string;
  /** An admin token. */
  token: string;
  browser: Browser;
  /** A page in a fresh context made at start (desktop size). */
  page: Page;
  /** The `gantry up` process (absent with inProcess). */
  gantry?: GantryProcess;
  /** The in-process API (only with inProcess). */
  api?: TestApi;
  /**
   * A page in a fresh context (its own cookies), desktop size unless given; its layout shifts
   * are recorded from the first frame (ui-checks.ts, layoutShift).
   */
  newPage(opts?: BrowserContextOptions): Promise<Page>;
  /** Log in with the token form (admin token unless given) and wait for the shell. */
  login(page?: Page, token?: string): Promise<void>;
  /** Open a path under /ui (e.g. "/apps") and wait for the page's data (`data-ready`). */
  open(page: Page, path: string, opts?: { ready?: boolean }): Promise<void>;
  /** A full-page screenshot at test-artifacts/ui/<name>.png; its path. */
  screenshot(page: Page, name: string): Promise<string>;
  /** Console errors and uncaught exceptions seen on this page so far. */
  errors(page: Page): string[];
  /** The requests this page made so far ("METHOD /path?query", with when, in ms since epoch). */
  requests(page: Page): { at: number; what: string }[];
  /** A call to the API with a bearer token (admin unless given); the parsed JSON answer. */
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** A new token's secret: a role ("viewer" is read-only) or policies. */
  makeToken(name: string, opts: { role?: string; policies?: Policy[] }): Promise<string>;
  /** A one-time login link (POST /v1/ui/links; admin token unless given). */
  loginLink(token?: string): Promise<string>;
  /** Create apps (no push: no release) and KV keys through the API. */
  seed(data: { apps?: string[]; kv?: Record<string, string> }): Promise<void>;
  close(): Promise<void>;
}

/** Start a server, make sure the dashboard is built, launch chromium and open a first page. */
export async function startUi(opts: UiOptions = {}): Promise<Ui> {
  await ensureWebBuilt();
  let gantry: GantryProcess | undefined;
  let api: TestApi | undefined;
  if (opts.inProcess === true) api = await startTestApi();
  else gantry = await startGantry(opts.gantry);
  const url = api?.url ?? gantry!.url;
  const token = api?.adminToken ?? gantry!.token;
  let browser: Browser;
  try {
    browser = await launchBrowser();
  } catch (err) {
    await api?.close();
    await stopGantry(gantry);
    throw err;
  }
  mkdirSync(ARTIFACTS, { recursive: true });

  const contexts: BrowserContext[] = [];
  const errs = new WeakMap<Page, string[]>();
  const reqs = new WeakMap<Page, { at: number; what: string }[]>();
  const newPage = async (o: BrowserContextOptions = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: DESKTOP, ...o });
    contexts.push(context);
    await observeLayoutShifts(context);
    const page = await context.newPage();
    const list: string[] = [];
    errs.set(page, list);
    page.on("console", (m) => {
      if (m.type() === "error") list.push(`console: ${m.text()} (${m.location().url})`);
    });
    page.on("pageerror", (e) => list.push(`exception: ${e.message}`));
    const sent: { at: number; what: string }[] = [];
    reqs.set(page, sent);
    page.on("request", (r) => {
      const u = new URL(r.url());
      sent.push({ at: Date.now(), what: `${r.method()} ${u.pathname}${u.search}` });
    });
    return page;
  };

  const request = async <T>(
    method: string,
    path: string,
    body?: unknown,
    tok = token,
  ): Promise<{ status: number; body: T }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${tok}` };
    let data: string | undefined;
    if (typeof body === "string") data = body;
    else if (body !== undefined) {
      data = JSON.stringify(body);
      headers["content-type"] = "application/json";
    }
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      ...(data === undefined ? {} : { body: data }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T };
  };
  const must = async <T>(method: string, path: string, body?: unknown, tok?: string) => {
    const r = await request<T>(method, path, body, tok);
    if (r.status >= 300)
      throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };

  const page = await newPage();
  const ui: Ui = {
    url,
    token,
    browser,
    page,
    ...(gantry === undefined ? {} : { gantry }),
    ...(api === undefined ? {} : { api }),
    newPage,
    login: async (p = page, tok = token) => {
      await p.goto(`${url}/ui/`);
      await p.locator('input[name="token"]').fill(tok);
      await p.locator('button[type="submit"]').click();
      await p.locator(SHELL).waitFor({ timeout: 15_000 });
    },
    open: async (p, path, o = {}) => {
      await p.goto(`${url}/ui${path === "/" ? "/" : path}`);
      if (o.ready !== false) await p.locator(READY).first().waitFor({ timeout: 15_000 });
    },
    screenshot: async (p, name) => {
      const file = join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9_.-]+/g, "-")}.png`);
      await p.screenshot({ path: file, fullPage: true });
      return file;
    },
    errors: (p) => errs.get(p) ?? [],
    requests: (p) => reqs.get(p) ?? [],
    request,
    makeToken: async (name, o) => {
      const body = await must<{ secret: string }>("POST", "/v1/tokens", {
        name,
        ...(o.role === undefined ? {} : { role: o.role }),
        ...(o.policies === undefined ? {} : { policies: o.policies }),
      });
      return body.secret;
    },
    loginLink: async (tok) => (await must<{ url: string }>("POST", "/v1/ui/links", {}, tok)).url,
    seed: async (data) => {
      for (const app of data.apps ?? []) await must("POST", "/v1/apps", { name: app });
      for (const [k, v] of Object.entries(data.kv ?? {}))
        await must("PUT", `/v1/kv/${k.split("/").map(encodeURIComponent).join("/")}`, v);
    },
    close: async () => {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await api?.close();
      await stopGantry(gantry);
    },
  };
  return ui;
}
