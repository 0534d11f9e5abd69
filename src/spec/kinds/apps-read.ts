import { AppsClient } from "../../client/apps.js";
import { ApiError } from "../../client/errors.js";
import type { App, Build, Formation } from "../../model/app.js";
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

/** Builds looked at for the current one and the last stack build, newest first. */
const BUILDS_READ = 50;

/** Read these apps (those that exist), with the revisions of their app and config records. */
export async function readApps(
  ctx: KindContext,
  names: readonly string[],
): Promise<Map<string, LiveItem<LiveApp>>> {
  const apps = new AppsClient(ctx.client);
  const { value: list } = await apps.list();
  const existing = new Set(list.map((a) => a.name));
  const read = await Promise.all(names.filter((n) => existing.has(n)).map((n) => readApp(apps, n)));
  const out = new Map<string, LiveItem<LiveApp>>();
  for (const item of read) if (item !== undefined) out.set(item.name, item);
  return out;
}

async function readApp(apps: AppsClient, name: string): Promise<LiveItem<LiveApp> | undefined> {
  try {
    const [info, config, builds, releases] = await Promise.all([
      apps.info(name),
      apps.config(name),
      apps.builds(name, BUILDS_READ),
      apps.releases(name),
    ]);
    const buildId = info.release?.build;
    let current: Build | undefined = builds.find((b) => b.id === buildId);
    if (buildId !== undefined && current === undefined) current = await apps.build(name, buildId);
    const types = Object.keys(info.release?.processTypes ?? {}).sort();
    // Builds that went live: a build whose deploy failed is not what the stack last built.
    const served = new Set(
      releases
        .filter((r) => r.status === "active" || r.status === "superseded")
        .map((r) => r.build),
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
  } catch (err) {
    // Destroyed between the list and this read: not live.
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
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
