import type { AuditLog } from "../audit/log.js";
import type { Principal } from "../model/principal.js";
import type { ReleaseHook, ReleaseOutcome } from "../build/release-hook.js";
import { conflict, notFound } from "../errors.js";
import {
  AppSchema,
  DeploySchema,
  releaseKey,
  ReleaseSchema,
  type App,
  type Build,
  type Deploy,
  type Formation,
  type Release,
  type Scale,
} from "../model/app.js";
import type { AppView, DeployResult, ReleaseAnswer } from "../model/app-views.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import * as deploys from "./deploys.js";
import { destroyApp, type DestroyReport } from "./destroy.js";
import { followDeploy } from "./follow.js";
import { effectiveFormation } from "./formation.js";
import { appKey, deployKey, releasesPrefix } from "./keys.js";
import { AppLogs } from "./logs.js";
import { kvsOf, parseAll, parseRecord, readApp, releaseView, type Versioned } from "./records.js";
import { settlePushes, type PushSettlement } from "./push-recovery.js";
import * as changes from "./release-changes.js";
import { baseRelease, createRelease } from "./releases.js";
import { deployImage, releaseBuild } from "./deploy-image.js";
import type { ResolveDeps } from "./image-resolve.js";
import { applyAppSet, describeAppSet, movesInstances, moveDraft } from "./app-set.js";
import type { AppSet } from "../model/app-set.js";
import { hasCode } from "./release-code.js";
import { scaleApp } from "./scale.js";
import { SecretBox } from "./secrets.js";

export interface AppServiceOptions {
  store: Store;
  audit: AuditLog;
  /** The data directory (resolved on first use: key, logs, repos). */
  dataDir: () => string;
  /** Apps answer at `http://<app>.<appDomain>:<routerPort>/`. */
  appDomain: string;
  routerPort: number;
  log: (line: string) => void;
}

/** Settings `apps:create` may give; the rest of an App starts at its defaults. */
export interface AppSettings {
  healthPath?: string;
  deployTimeoutMs?: number;
  drainMs?: number;
}

export const APP_DEFAULTS = { healthPath: "/", deployTimeoutMs: 30_000, drainMs: 5000 } as const;

const ATTEMPTS = 8;

/**
 * The apps service: everything the apps routes do to the Store, and the hook the build route
 * calls to release a build (`releaseFromBuild`). The deploy controller does the rest by
 * watching what this writes.
 */
export class AppService implements ReleaseHook {
  readonly secrets: SecretBox;
  readonly logs: AppLogs;
  readonly store: Store;
  private readonly audit: AuditLog;

  constructor(private readonly opts: AppServiceOptions) {
    this.store = opts.store;
    this.audit = opts.audit;
    this.secrets = new SecretBox({ dataDir: opts.dataDir });
    this.logs = new AppLogs(opts.dataDir);
  }

  private get changeDeps(): changes.ReleaseChangeDeps {
    return { store: this.store, audit: this.audit, secrets: this.secrets };
  }

  get dataDir(): string {
    return this.opts.dataDir();
  }

  /** Where an app answers through the router. */
  appUrl(app: string): string {
    const port = this.opts.routerPort === 80 ? "" : `:${this.opts.routerPort}`;
    return `http://${app}.${this.opts.appDomain}${port}/`;
  }

  /** Where to push an app, given the API's base URL as the client reached it. */
  gitUrl(app: string, apiBase: string): string {
    return `${apiBase.replace(/\/+$/, "")}/git/${app}.git`;
  }

  view(app: App, apiBase: string): AppView {
    return { ...app, gitUrl: this.gitUrl(app.name, apiBase), url: this.appUrl(app.name) };
  }

  // --- apps ----------------------------------------------------------------------------------

  async create(name: string, settings: AppSettings, who: Principal): Promise<App> {
    const app = AppSchema.parse({
      name,
      createdAt: new Date().toISOString(),
      createdBy: who.name,
      domains: [],
      formation: {},
      ...APP_DEFAULTS,
      ...settings,
      currentRelease: 0,
    });
    const key = appKey(name);
    const res = await this.store.txn({
      compare: [{ key, target: "version", op: "==", value: 0 }],
      success: [
        { type: "put", key, value: JSON.stringify(app) },
        this.audit.entry(who, "app.create", name),
      ],
    });
    if (!res.succeeded) throw conflict(`an app named "${name}" already exists`);
    await this.createRepo(name);
    return app;
  }

  /** The bare git repository (src/build); pushes create it too, so a failure here is not fatal. */
  private async createRepo(name: string): Promise<void> {
    try {
      const { createAppRepo } = await import("../build/repo.js");
      await createAppRepo(this.dataDir, name);
    } catch (err) {
      this.opts.log(`apps: ${name}: could not create the git repository yet: ${String(err)}`);
    }
  }

  async list(): Promise<{ apps: App[]; revision: number }> {
    const res = await this.store.range({ prefix: K.apps });
    return { apps: parseAll(res.kvs, AppSchema).map((a) => a.value), revision: res.revision };
  }

  /** An app with its current release and last deploy. */
  async info(name: string, apiBase: string): Promise<AppView> {
    const res = await this.store.txn({
      success: [
        { type: "get", range: appKey(name) },
        { type: "get", range: deployKey(name) },
      ],
    });
    const appKv = kvsOf(res, 0)[0];
    const app = parseRecord(appKv, AppSchema);
    if (app === undefined || appKv === undefined) throw notFound(`app "${name}"`);
    const view: AppView = { ...this.view(app, apiBase), modRevision: appKv.modRevision };
    const deploy = parseRecord(kvsOf(res, 1)[0], DeploySchema);
    if (deploy !== undefined) {
      const { log: _log, ...rest } = deploy;
      view.deploy = rest;
    }
    if (app.currentRelease > 0) {
      const rel = parseRecord(
        await this.store.get(releaseKey(name, app.currentRelease)),
        ReleaseSchema,
      );
      if (rel !== undefined) {
        view.release = releaseView(rel);
        view.formation = {
          ...app.formation,
          ...effectiveFormation(app.formation, rel.processTypes),
        };
      }
    }
    return view;
  }

  destroy(name: string, who: Principal): Promise<DestroyReport> {
    return destroyApp(this, name, who, this.audit);
  }

  /** Change an app record with a pure function, guarded by its modRevision (retried on races). */
  async updateApp(
    name: string,
    who: Principal,
    action: string,
    change: (app: App) => App,
  ): Promise<App> {
    for (let i = 0; i < ATTEMPTS; i++) {
      const cur = await readApp(this.store, name);
      const next = AppSchema.parse(change(cur.value));
      const key = appKey(name);
      const res = await this.store.txn({
        compare: [{ key, target: "modRevision", op: "==", value: cur.modRevision }],
        success: [
          { type: "put", key, value: JSON.stringify(next) },
          this.audit.entry(who, action, name),
        ],
      });
      if (res.succeeded) return next;
    }
    throw conflict(`${name} is changing too fast; try again`);
  }

  /**
   * Change settings (src/apps/app-set.ts): health path, deploy timeout, drain, runtime,
   * container options, build args. A change of runtime or container options makes a release of
   * the same code (answered as `release`), so the instances move; the rest applies from the next
   * deploy. Audited as `app.settings`.
   */
  async changeSettings(
    name: string,
    set: AppSet,
    who: Principal,
  ): Promise<{ app: App; release?: number }> {
    const made = await createRelease(this.store, this.audit, who, name, (state) => {
      const after = AppSchema.parse(applyAppSet(state.app.value, set));
      const base = baseRelease(state.releases);
      if (base === undefined || !hasCode(base) || !movesInstances(state.app.value, after))
        return undefined;
      return {
        action: "app.settings",
        app: (app) => applyAppSet(app, set),
        draft: moveDraft(after, base, describeAppSet(set)),
      };
    });
    if (made !== undefined)
      return { app: (await readApp(this.store, name)).value, release: made.version };
    return { app: await this.updateApp(name, who, "app.settings", (a) => applyAppSet(a, set)) };
  }

  /** Clear a rollback's pin (`releases:unpin`): answers whether the app was pinned. */
  async unpin(name: string, who: Principal): Promise<{ pinned: boolean }> {
    const cur = await readApp(this.store, name);
    if (cur.value.pinned === undefined) return { pinned: false };
    await this.updateApp(name, who, "app.unpin", unpinned);
    return { pinned: true };
  }

  // --- formation and domains -----------------------------------------------------------------

  /** Scale (src/apps/scale.ts): the new formation, and the scaling to follow when it changed. */
  scale(name: string, changes: Formation, who: Principal): Promise<{ app: App; scale?: Scale }> {
    return scaleApp(this.store, this.audit, name, changes, who);
  }

  async addDomain(name: string, domain: string, who: Principal): Promise<App> {
    const { apps } = await this.list();
    const owner = apps.find((a) => a.name !== name && a.domains.includes(domain));
    if (owner !== undefined) throw conflict(`${domain} is already a domain of ${owner.name}`);
    const other = apps.find((a) => domain === `${a.name}.${this.opts.appDomain}`);
    if (other !== undefined && other.name !== name)
      throw conflict(`${domain} is the platform's own name of ${other.name}`);
    return this.updateApp(name, who, "app.domain.add", (app) =>
      app.domains.includes(domain) ? app : { ...app, domains: [...app.domains, domain].sort() },
    );
  }

  async removeDomain(name: string, domain: string, who: Principal): Promise<App> {
    const cur = await readApp(this.store, name);
    if (!cur.value.domains.includes(domain)) throw notFound(`domain ${domain} of ${name}`);
    return this.updateApp(name, who, "app.domain.remove", (app) => ({
      ...app,
      domains: app.domains.filter((d) => d !== domain),
    }));
  }

  // --- config and releases -------------------------------------------------------------------

  /** The app's config, decrypted, with the config record's modRevision (0: never set). */
  config(
    name: string,
  ): Promise<{ version: number; values: Record<string, string>; modRevision: number }> {
    return changes.readConfig(this, name);
  }

  /** Set and unset config vars (src/apps/release-changes.ts): a new release when anything changed. */
  changeConfig(
    name: string,
    set: Record<string, string>,
    unset: string[],
    who: Principal,
  ): Promise<ReleaseAnswer> {
    return changes.changeConfig(this.changeDeps, name, set, unset, who);
  }

  async releases(name: string): Promise<Versioned<ReturnType<typeof releaseView>>[]> {
    await readApp(this.store, name);
    const res = await this.store.range({ prefix: releasesPrefix(name) });
    return parseAll(res.kvs, ReleaseSchema).map((r) => ({
      value: releaseView(r.value),
      modRevision: r.modRevision,
    }));
  }

  /** A new release with an old one's code and config (the config record follows), pinned. */
  rollback(name: string, version: number, who: Principal): Promise<ReleaseAnswer> {
    return changes.rollback(this.changeDeps, name, version, who);
  }

  /** ReleaseHook: release a succeeded build and wait for its deploy, streaming progress. */
  async releaseFromBuild(
    app: string,
    build: Build,
    who: Principal,
    onLine: (line: string) => void,
    signal: AbortSignal = new AbortController().signal,
  ): Promise<ReleaseOutcome> {
    if ((build.artifact === undefined && build.image === undefined) || !build.processTypes)
      return { ok: false, error: `build ${build.id} has nothing to release` };
    const rel = await this.releaseBuild(app, build, who);
    onLine(`released v${rel.version}; deploying`);
    let result = await this.follow(app, rel.version, onLine, signal);
    // Not live (the pusher's hook went away, the server stops, the deploy stalled): the hook
    // will reject the push, so what it released must not go live later.
    if (!result.ok && build.push !== undefined) {
      const mine = (await this.settlePushes(app)).abandoned.find((a) => a.version === rel.version);
      if (mine !== undefined)
        result = { ok: false, error: `v${mine.version} was abandoned: ${mine.reason}` };
    }
    return {
      ok: result.ok,
      version: rel.version,
      ...(result.url === undefined ? {} : { url: result.url }),
      ...(result.error === undefined ? {} : { error: result.error }),
    };
  }

  /** `gantry deploy --image REF` (src/apps/deploy-image.ts); the caller follows the deploy. */
  deployImage(
    app: string,
    ref: string,
    who: Principal,
    deps: ResolveDeps,
  ): Promise<{ build: Build; version: number }> {
    return deployImage({ store: this.store, audit: this.audit }, app, ref, who, deps);
  }

  private releaseBuild(app: string, build: Build, who: Principal): Promise<Release> {
    return releaseBuild({ store: this.store, audit: this.audit }, app, build, who);
  }

  /** Abandon this app's releases whose push did not complete (src/apps/push-recovery.ts). */
  settlePushes(app: string): Promise<PushSettlement> {
    return settlePushes(
      {
        store: this.store,
        audit: this.audit,
        dataDir: this.dataDir,
        say: this.opts.log,
        logs: this.logs,
      },
      app,
    );
  }

  /** Follow a release's deploy until it ends (see followDeploy), with the app's URL on success. */
  async follow(
    app: string,
    version: number,
    onLine: (line: string) => void,
    signal: AbortSignal,
  ): Promise<DeployResult> {
    const r = await followDeploy(this.store, app, version, onLine, signal);
    return r.ok ? { ...r, url: this.appUrl(app) } : r;
  }

  /** The app's deploy record (the running or the last deploy). */
  deployRecord(name: string): Promise<Deploy | undefined> {
    return deploys.readDeploy(this.store, name);
  }

  /** Which release `deploys/current` is about (src/apps/deploys.ts). */
  currentDeployRelease(name: string): Promise<number> {
    return deploys.currentDeployRelease(this.store, name);
  }
}

const unpinned = ({ pinned: _pinned, ...app }: App): App => app;
