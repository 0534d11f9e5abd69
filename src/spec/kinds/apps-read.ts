import { AppsClient } from "../../client/apps.js";
import { ApiError } from "../../client/errors.js";
import { StackClient, type StackAppRead } from "../../client/stack.js";
import type { App, Build, ContainerOptions, Formation, Runtime } from "../../model/app.js";
import type { KindContext, LiveItem } from "../kind.js";

/** The code an app runs: the build of its current release. */
export interface LiveCode {
  /** The release that serves (0: none yet). */
  release: number;
  build?: string;
  /** The git commit, or "upload". */
  commit?: string;
  /** The stack folder hash the build was made from (absent for a `git push`). */
  source?: string;
}

/** An app as the app kind sees it. */
export interface LiveApp {
  healthPath: string;
  deployTimeoutMs: number;
  drainMs: number;
  domains: string[];
  /** How its instances run (absent: process), its container options and build args. */
  runtime?: Runtime;
  container?: ContainerOptions;
  buildArgs?: string[];
  /** The router's HTTPS redirect and HSTS max-age (absent: off). */
  httpsRedirect?: boolean;
  hsts?: number;
  /** The test command and its limit (issue 15; absent: none, the default). */
  test?: string;
  testTimeoutMs?: number;
  /** The release phase's limit (issue 15; absent: the default, 10m). */
  releaseTimeoutMs?: number;
  /** Placement settings (issue 16; absent: none). */
  cpu?: number;
  constraints?: string[];
  spread?: string;
  /** Instances per process type of the release that serves (defaults filled in). */
  formation: Formation;
  /** The process types of the release that serves ([] before the first build). */
  processTypes: string[];
  /**
   * The config, decrypted: needed to compare the spec's values and to see which secrets are
   * set. Never part of what a plan saves or prints (see `liveApp`): only `configNames` is.
   */
  config: Readonly<Record<string, string>>;
  code: LiveCode;
  /** The folder hash of the newest stack build that went live: what the stack last deployed. */
  lastStackSource?: string;
  pinned?: NonNullable<App["pinned"]>;
}

/** Apps per read: what one `GET /v1/stack/apps` takes. */
const PER_READ = 256;

/**
 * Read these apps (those that exist), with the revisions of their app and config records: one
 * request per 256 apps (`GET /v1/stack/apps`), each app's record, config, newest builds and
 * releases.
 */
export async function readApps(
  ctx: KindContext,
  names: readonly string[],
): Promise<Map<string, LiveItem<LiveApp>>> {
  const stack = new StackClient(ctx.client);
  const parts: string[][] = [];
  for (let i = 0; i < names.length; i += PER_READ) parts.push(names.slice(i, i + PER_READ));
  const reads = (await Promise.all(parts.map((p) => stack.apps(p)))).flat();
  const apps = new AppsClient(ctx.client);
  const items = await Promise.all(reads.map((r) => liveItem(apps, r)));
  const out = new Map<string, LiveItem<LiveApp>>();
  for (const item of items) if (item !== undefined) out.set(item.name, item);
  return out;
}

async function liveItem(
  apps: AppsClient,
  { app: info, config, builds, releases }: StackAppRead,
): Promise<LiveItem<LiveApp> | undefined> {
  const name = info.name;
  const buildId = info.release?.build;
  let current: Build | undefined = builds.find((b) => b.id === buildId);
  try {
    // Older than the newest builds the read brings: asked for on its own.
    if (buildId !== undefined && current === undefined) current = await apps.build(name, buildId);
  } catch (err) {
    // Destroyed since the read: not live.
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
  const types = Object.keys(info.release?.processTypes ?? {}).sort();
  // Builds that went live: a build whose deploy failed is not what the stack last built.
  const served = new Set(
    releases.filter((r) => r.status === "active" || r.status === "superseded").map((r) => r.build),
  );
  const lastStack = builds.find((b) => b.source !== undefined && served.has(b.id));
  const code: LiveCode = {
    release: info.currentRelease,
    ...(buildId === undefined ? {} : { build: buildId }),
    ...(current === undefined ? {} : { commit: current.commit }),
    ...(current?.source === undefined ? {} : { source: current.source }),
  };
  return {
    name,
    value: liveApp({
      healthPath: info.healthPath,
      deployTimeoutMs: info.deployTimeoutMs,
      drainMs: info.drainMs,
      domains: [...info.domains].sort(),
      ...(info.runtime === undefined ? {} : { runtime: info.runtime }),
      ...(info.container === undefined ? {} : { container: info.container }),
      ...(info.buildArgs === undefined ? {} : { buildArgs: info.buildArgs }),
      ...(info.httpsRedirect === true ? { httpsRedirect: true } : {}),
      ...(info.hsts === undefined ? {} : { hsts: info.hsts }),
      ...(info.test === undefined ? {} : { test: info.test }),
      ...(info.testTimeoutMs === undefined ? {} : { testTimeoutMs: info.testTimeoutMs }),
      ...(info.releaseTimeoutMs === undefined ? {} : { releaseTimeoutMs: info.releaseTimeoutMs }),
      ...(info.cpu === undefined ? {} : { cpu: info.cpu }),
      ...(info.constraints === undefined ? {} : { constraints: info.constraints }),
      ...(info.spread === undefined ? {} : { spread: info.spread }),
      formation: Object.fromEntries(types.map((t) => [t, info.formation[t] ?? 0])),
      processTypes: types,
      config: config.values,
      code,
      ...(lastStack?.source === undefined ? {} : { lastStackSource: lastStack.source }),
      ...(info.pinned === undefined ? {} : { pinned: info.pinned }),
    }),
    revisions: {
      [`apps/${name}`]: info.modRevision ?? 0,
      [`config/${name}`]: config.modRevision,
    },
  };
}

/**
 * A LiveApp whose config values stay in memory: written out as JSON (a saved plan, a debug
 * dump) it shows only the names.
 */
export function liveApp(value: LiveApp): LiveApp {
  const names = Object.keys(value.config).sort();
  return Object.defineProperty({ ...value }, "toJSON", {
    enumerable: false,
    value: () => {
      const { config: _config, ...rest } = value;
      return { ...rest, configNames: names };
    },
  });
}
