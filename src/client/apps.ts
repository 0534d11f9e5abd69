import type { AppConfig, Build, Deploy, Formation } from "../model/app.js";
import type { AppSet } from "../model/app-set.js";
import type {
  AppView,
  DeployResult,
  PsEntry,
  ReleaseAnswer,
  ReleaseView,
  RunAnswer,
} from "../model/app-views.js";
import type { BlockingOptions, Indexed } from "./catalog.js";
import type { GantryClient } from "./client.js";
import type { ApiResponse } from "./transport.js";

const seg = encodeURIComponent;
const RESULT_PREFIX = "gantry:result ";

export interface DestroyAnswer {
  ok: boolean;
  app: string;
  stopped: number;
  stillStopping: number;
  artifactsRemoved: number;
  registryImagesRemoved?: number;
  localImagesRemoved?: number;
  imagesLeft?: string[];
}

export interface LogOptions {
  /** How many past lines (default 100). */
  tail?: number;
  /** Only these sources: `web`, `web.1`, `run.3`, comma-separated. */
  ps?: string;
  /** Only lines at or after this ISO time. */
  since?: string;
}

/** How `upload` ended: the deploy's result, with the build id and artifact when one was made. */
export interface BuildAnswer extends DeployResult {
  build?: string;
  artifact?: string;
}

/** The apps API: used by the CLI, the agent (log shipping) and the router (app list). */
export class AppsClient {
  constructor(readonly client: GantryClient) {}

  private path(app: string, rest = ""): string {
    return `/v1/apps/${seg(app)}${rest}`;
  }

  create(
    name: string,
    settings: { healthPath?: string; deployTimeoutMs?: number; drainMs?: number } = {},
  ): Promise<AppView> {
    return this.client.json("POST", "/v1/apps", { body: { name, ...settings } });
  }

  /** Every app; with `index`, wait until one changes after it (a blocking read). */
  async list(opts: BlockingOptions = {}): Promise<Indexed<AppView[]>> {
    const res = await this.client.request("GET", "/v1/apps", {
      query: { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return {
      index: Number(res.headers.get("x-gantry-index") ?? 0),
      value: (await res.json()) as AppView[],
    };
  }

  info(app: string): Promise<AppView> {
    return this.client.json("GET", this.path(app));
  }

  destroy(app: string, confirm: string): Promise<DestroyAnswer> {
    return this.client.json("DELETE", this.path(app), { query: { confirm } });
  }

  /** The config (or, scope test, the TEST config), decrypted, with its record's modRevision (0: never set). */
  config(
    app: string,
    scope?: "test",
  ): Promise<Pick<AppConfig, "version" | "values"> & { modRevision: number }> {
    return this.client.json("GET", this.path(app, "/config"), { query: { scope } });
  }

  /** Set and unset TEST config vars (what build tests run with): no release. */
  changeTestConfig(
    app: string,
    change: { set?: Record<string, string>; unset?: string[] },
  ): Promise<{ changed: boolean; version: number; scope: "test" }> {
    return this.client.json("PUT", this.path(app, "/config"), {
      body: change,
      query: { scope: "test" },
    });
  }

  /**
   * Change settings (health, timing, runtime, container limits, build args); a change of runtime
   * or container limits answers `newRelease`, the release that moves the instances.
   */
  settings(app: string, settings: AppSet): Promise<AppView> {
    return this.client.json("PUT", this.path(app, "/settings"), { body: settings });
  }

  /** Set and unset config vars; a new release when something changed. */
  changeConfig(
    app: string,
    change: { set?: Record<string, string>; unset?: string[] },
  ): Promise<ReleaseAnswer> {
    return this.client.json("PUT", this.path(app, "/config"), { body: change });
  }

  scale(app: string, formation: Formation): Promise<AppView> {
    return this.client.json("PUT", this.path(app, "/formation"), { body: formation });
  }

  releases(app: string): Promise<ReleaseView[]> {
    return this.client.json("GET", this.path(app, "/releases"));
  }

  rollback(app: string, version: number): Promise<ReleaseAnswer> {
    return this.client.json("POST", this.path(app, "/releases/rollback"), { body: { version } });
  }

  /** Clear a rollback's pin; answers whether the app was pinned. */
  unpin(app: string): Promise<{ pinned: boolean }> {
    return this.client.json("POST", this.path(app, "/releases/unpin"));
  }

  /** Deploy an image built elsewhere (resolved to a digest by the server); follow with followDeploy. */
  deployImage(
    app: string,
    image: string,
  ): Promise<{ build: string; release: number; image: string }> {
    return this.client.json("POST", this.path(app, "/deploy"), { body: { image } });
  }

  /** The app's builds, newest first. */
  builds(app: string, limit?: number): Promise<Build[]> {
    return this.client.json("GET", this.path(app, "/builds"), { query: { limit } });
  }

  build(app: string, id: string): Promise<Build> {
    return this.client.json("GET", this.path(app, `/builds/${seg(id)}`));
  }

  /**
   * Build a tar of the source, then release and deploy it (as a push does), streaming the build
   * and deploy lines to `onLine`; answers the stream's result line.
   */
  async upload(
    app: string,
    tar: Uint8Array,
    opts: {
      commit?: string;
      source?: string;
      onLine?: (line: string) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<BuildAnswer> {
    const res = await this.client.request("POST", this.path(app, "/builds"), {
      query: { commit: opts.commit, source: opts.source },
      raw: tar,
      headers: { "content-type": "application/x-tar" },
      stream: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return readResult<BuildAnswer>(res, "build", opts.onLine);
  }

  /** The running (else queued, else last) deploy, or the one of `release`. */
  deploy(app: string, release?: number): Promise<Deploy> {
    return this.client.json("GET", this.path(app, "/deploys/current"), { query: { release } });
  }

  /** Follow a deploy's progress to its end; `onLine` gets each progress line. */
  async followDeploy(
    app: string,
    opts: { release?: number; onLine?: (line: string) => void; signal?: AbortSignal } = {},
  ): Promise<DeployResult> {
    const res = await this.client.request("GET", this.path(app, "/deploys/current"), {
      query: { follow: true, release: opts.release },
      stream: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return readResult<DeployResult>(res, "deploy", opts.onLine);
  }

  /** Follow a scaling (`ps:scale`) until it ends: its progress lines, then its outcome. */
  async followScale(
    app: string,
    opts: { id: string; onLine?: (line: string) => void; signal?: AbortSignal },
  ): Promise<DeployResult> {
    const res = await this.client.request("GET", this.path(app, "/scaling"), {
      query: { follow: true, id: opts.id },
      stream: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return readResult<DeployResult>(res, "scaling", opts.onLine);
  }

  ps(app: string): Promise<PsEntry[]> {
    return this.client.json("GET", this.path(app, "/ps"));
  }

  /** One instance (also after a one-off ended); with `index`, wait for a change first. */
  async instance(app: string, id: string, opts: BlockingOptions = {}): Promise<Indexed<PsEntry>> {
    const res = await this.client.request("GET", this.path(app, `/ps/${seg(id)}`), {
      query: { index: opts.index, wait: opts.index === undefined ? undefined : opts.wait },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return {
      index: Number(res.headers.get("x-gantry-index") ?? 0),
      value: (await res.json()) as PsEntry,
    };
  }

  addDomain(app: string, domain: string): Promise<AppView> {
    return this.client.json("POST", this.path(app, "/domains"), { body: { domain } });
  }

  removeDomain(app: string, domain: string): Promise<AppView> {
    return this.client.json("DELETE", this.path(app, `/domains/${seg(domain)}`));
  }

  run(app: string, command: string[]): Promise<RunAnswer> {
    return this.client.json("POST", this.path(app, "/run"), { body: { command } });
  }

  /** Past log lines (`TIME SOURCE LINE`). */
  async logs(app: string, opts: LogOptions = {}): Promise<string[]> {
    const res = await this.client.request("GET", this.path(app, "/logs"), {
      query: { tail: opts.tail, ps: opts.ps, since: opts.since },
    });
    const body = await res.text();
    return body === "" ? [] : body.replace(/\n$/, "").split("\n");
  }

  /** Past lines, then new ones as they come, until `signal` aborts. */
  async followLogs(
    app: string,
    onLine: (line: string) => void,
    opts: LogOptions & { signal?: AbortSignal } = {},
  ): Promise<void> {
    try {
      const res = await this.client.request("GET", this.path(app, "/logs"), {
        query: { tail: opts.tail, ps: opts.ps, since: opts.since, follow: true },
        stream: true,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      await readLines(res, onLine);
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
  }

  /** Ship log lines (agents). */
  shipLogs(
    app: string,
    lines: { source: string; line: string; time?: string }[],
  ): Promise<{ ok: boolean; lines: number }> {
    return this.client.json("POST", this.path(app, "/logs"), { body: { lines } });
  }
}

/** Call `onLine` for each line of a streamed text body. */
/** Copy a streamed answer's lines to `onLine` until its result line; answer that result. */
async function readResult<T extends DeployResult>(
  res: ApiResponse,
  what: string,
  onLine?: (line: string) => void,
): Promise<T> {
  let result: T | undefined;
  await readLines(res, (line) => {
    if (line.startsWith(RESULT_PREFIX)) result = JSON.parse(line.slice(RESULT_PREFIX.length));
    else onLine?.(line);
  });
  return result ?? ({ ok: false, error: `the ${what} stream ended without a result` } as T);
}

async function readLines(res: ApiResponse, onLine: (line: string) => void): Promise<void> {
  if (res.body === null) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      onLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
  }
  buffer += decoder.decode();
  if (buffer !== "") onLine(buffer);
}
