import { AppsClient } from "../client/apps.js";
import { CatalogClient } from "../client/catalog.js";
import type { GantryClient } from "../client/client.js";
import { ApiError, ConnectError } from "../client/errors.js";
import { webServiceName } from "../model/app.js";
import type { AppRoute, RouteInstance, RouteSnapshot, RouteSource } from "./source.js";
import { sleep } from "../sleep.js";

export interface ApiRouteSourceOptions {
  /** A client whose token may read apps and services. */
  client: GantryClient;
  log?: (line: string) => void;
  /** How long each blocking read may wait on the server (default "60s"). */
  wait?: string;
  /** Changes that arrive together are delivered as one snapshot after this (ms; default 5). */
  settleMs?: number;
  /** While the server has no apps API (404), ask again this often (ms; default 1000). */
  pollMs?: number;
}

/** What the router reads of an app's record. */
interface AppEntry {
  name: string;
  domains?: string[];
  httpsRedirect?: boolean;
  hsts?: number;
}

interface AppWatch {
  domains: string[];
  /** The app's HTTPS settings, as the route table takes them. */
  https: Pick<AppRoute, "httpsRedirect" | "hsts">;
  instances: RouteInstance[];
  /** Its first catalog answer has arrived. */
  loaded: boolean;
  abort: AbortController;
}

/**
 * The routing table from the API, by blocking reads (no polling): `GET /v1/apps?index&wait` for
 * the apps and their domains, and per app `GET /v1/catalog/service/<app>?passing&index&wait` for
 * its passing instances. A change is delivered within milliseconds of its write.
 */
export class ApiRouteSource implements RouteSource {
  private readonly apps: AppsClient;
  private readonly catalog: CatalogClient;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ApiRouteSourceOptions) {
    this.apps = new AppsClient(opts.client);
    this.catalog = new CatalogClient(opts.client);
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
  }

  watch(onUpdate: (snapshot: RouteSnapshot) => void): () => void {
    const stop = new AbortController();
    const watches = new Map<string, AppWatch>();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let appsLoaded = false;
    let last = "";

    // Deliver once the burst of answers is over, and not before every app has its instances
    // (or a second has passed): a router starting up should not answer 503 for a moment.
    let waitingSince = 0;
    const changed = (delay = this.opts.settleMs ?? 5): void => {
      if (stop.signal.aborted || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (stop.signal.aborted) return;
        const pending = !appsLoaded || [...watches.values()].some((w) => !w.loaded);
        if (pending && (waitingSince === 0 || Date.now() - waitingSince < 1000)) {
          if (waitingSince === 0) waitingSince = Date.now();
          changed(20);
          return;
        }
        waitingSince = 0;
        const snapshot = snapshotOf(watches);
        const text = JSON.stringify(snapshot);
        if (text === last) return; // a blocking read that timed out: nothing changed
        last = text;
        onUpdate(snapshot);
      }, delay);
    };

    const setApps = (list: AppEntry[]): void => {
      const names = new Set(list.map((a) => a.name));
      for (const [name, w] of watches)
        if (!names.has(name)) {
          w.abort.abort();
          watches.delete(name);
        }
      for (const app of list) {
        const domains = [...(app.domains ?? [])].sort();
        const https = httpsOf(app);
        const w = watches.get(app.name);
        if (w !== undefined) {
          w.domains = domains;
          w.https = https;
          continue;
        }
        const watch: AppWatch = {
          domains,
          https,
          instances: [],
          loaded: false,
          abort: new AbortController(),
        };
        watches.set(app.name, watch);
        void this.followInstances(app.name, watch, stop.signal, changed);
      }
      appsLoaded = true;
      changed();
    };

    void this.followApps(stop.signal, setApps);
    return () => {
      stop.abort();
      if (timer !== undefined) clearTimeout(timer);
      for (const w of watches.values()) w.abort.abort();
      watches.clear();
    };
  }

  private async followApps(
    signal: AbortSignal,
    setApps: (list: AppEntry[]) => void,
  ): Promise<void> {
    let index: number | undefined;
    let failures = 0;
    let noApi = false;
    while (!signal.aborted) {
      try {
        const res = await this.apps.list({
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "60s",
          signal,
        });
        if (failures > 0 || noApi) this.log("router: reading the app list again");
        failures = 0;
        noApi = false;
        setApps(res.value);
        index = res.index > 0 ? res.index : undefined;
        if (index === undefined) await sleep(this.opts.pollMs ?? 1000, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof ApiError && err.status === 404) {
          // A server without the apps API: no apps to route, until it has one.
          if (!noApi) setApps([]);
          noApi = true;
          index = undefined;
          await sleep(this.opts.pollMs ?? 1000, signal);
          continue;
        }
        if (++failures === 1)
          this.log(`router: cannot read the app list: ${describe(err)} (retrying)`);
        if (!keepsIndex(err)) index = undefined;
        await sleep(backoff(failures, err), signal);
      }
    }
  }

  private async followInstances(
    app: string,
    watch: AppWatch,
    stopAll: AbortSignal,
    changed: () => void,
  ): Promise<void> {
    const signal = AbortSignal.any([stopAll, watch.abort.signal]);
    let index: number | undefined;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const res = await this.catalog.service(webServiceName(app), {
          passing: true,
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "60s",
          signal,
        });
        if (signal.aborted) return;
        if (failures > 0) this.log(`router: reading the instances of ${app} again`);
        failures = 0;
        const instances = res.value
          .map((v) => ({ address: v.address, port: v.port }))
          .sort((a, b) =>
            a.address === b.address ? a.port - b.port : a.address < b.address ? -1 : 1,
          );
        const first = !watch.loaded;
        watch.loaded = true;
        if (first || !sameInstances(watch.instances, instances)) {
          watch.instances = instances;
          changed();
        }
        index = res.index > 0 ? res.index : undefined;
        if (index === undefined) await sleep(this.opts.pollMs ?? 1000, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (++failures === 1)
          this.log(`router: cannot read the instances of ${app}: ${describe(err)} (retrying)`);
        if (!keepsIndex(err)) index = undefined;
        await sleep(backoff(failures, err), signal);
      }
    }
  }
}

function snapshotOf(watches: Map<string, AppWatch>): RouteSnapshot {
  const apps: AppRoute[] = [];
  for (const [name, w] of watches)
    apps.push({ name, domains: w.domains, instances: w.instances, ...w.https });
  apps.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { apps };
}

/** Only the settings that are on, so apps without them read as before. */
function httpsOf(app: AppEntry): Pick<AppRoute, "httpsRedirect" | "hsts"> {
  return {
    ...(app.httpsRedirect === true ? { httpsRedirect: true } : {}),
    ...(app.hsts !== undefined && app.hsts > 0 ? { hsts: app.hsts } : {}),
  };
}

function sameInstances(a: RouteInstance[], b: RouteInstance[]): boolean {
  return (
    a.length === b.length && a.every((x, i) => x.address === b[i]!.address && x.port === b[i]!.port)
  );
}

/**
 * Without quorum a server refuses a blocking read whose index it has not reached (its member is
 * behind): ask again with the same index rather than take an older view without one.
 */
const keepsIndex = (err: unknown): boolean => err instanceof ApiError && err.code === "no_quorum";

/** Server away or overloaded: quick retries; a refused token: slow ones (someone may fix it). */
function backoff(failures: number, err: unknown): number {
  if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return 5000;
  return Math.min(5000, 100 * 2 ** Math.min(failures, 6));
}

function describe(err: unknown): string {
  if (err instanceof ConnectError || err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
