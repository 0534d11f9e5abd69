import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Store } from "../store/index.js";
import { REGISTRY_ISSUER, REGISTRY_SERVICE, registryConfig } from "./config.js";
import { RegistryApi } from "./http-api.js";
import { readImages } from "./inventory.js";
import { signRegistryToken, type ResourceActions } from "./jwt.js";
import { imageViews, type ImageView, type ReleaseImage } from "./listing.js";
import { RegistryProcess } from "./process.js";
import { PushLock } from "./push-lock.js";
import {
  appNames,
  applyRetention,
  deleteAppImages,
  DEFAULT_KEEP_RELEASES,
  readAppReleases,
} from "./retention.js";
import { loadOrCreateSigningKey, type SigningKey } from "./signing-key.js";
import { uploadsInFlight } from "./uploads.js";

const run = promisify(execFile);

/** Credentials for a push or pull by the Docker engine (dockerode's `authconfig`). */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** What server code that pushes (the builder, bake) needs of the registry. */
export interface RegistryHandle {
  /** host:port, the prefix of image names: `<address>/<app>`. */
  readonly address: string;
  /** Credentials of the server's own registry token (never printed). */
  auth(): RegistryAuth;
  /** Run a push: garbage collection waits for it and does not start during it. */
  withPush<T>(fn: () => Promise<T>): Promise<T>;
}

export interface RegistryServiceOptions {
  dataDir: string;
  store: Store;
  /** The registry binary (Debian's /usr/bin/docker-registry). */
  binary: string;
  host: string;
  port: number;
  /** The token realm: the API's /v1/registry/token URL. */
  realm: string;
  /** The secret of the Gantry token the server pushes with. */
  pushSecret: string;
  /** Releases whose images retention keeps per app (default 5). */
  keepReleases?: number;
  /** How often retention and GC run (default hourly; 0: never by themselves). */
  pruneEveryMs?: number;
  log?: (line: string) => void;
  backoffMs?: number;
}

export interface GcResult {
  ran: boolean;
  /** Why it did not run. */
  reason?: string;
  ms: number;
}

export interface PruneResult {
  deleted: { app: string; digests: string[] }[];
  gc: GcResult;
}

/**
 * Gantry's registry: Debian's docker-registry supervised as a child, its config and token key
 * in DATA_DIR/registry, tokens signed by Gantry, listing, retention and garbage collection.
 */
export class RegistryService implements RegistryHandle {
  readonly address: string;
  readonly keepReleases: number;
  readonly lock = new PushLock();
  readonly api: RegistryApi;
  private readonly proc: RegistryProcess;
  private readonly dir: string;
  private readonly dataRoot: string;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pruning: Promise<PruneResult> | undefined;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly o: RegistryServiceOptions,
    private readonly signing: SigningKey,
  ) {
    const host = o.host.includes(":") ? `[${o.host}]` : o.host;
    this.address = `${host}:${o.port}`;
    this.keepReleases = o.keepReleases ?? DEFAULT_KEEP_RELEASES;
    this.dir = join(o.dataDir, "registry");
    this.dataRoot = join(this.dir, "data");
    this.log = o.log ?? ((line) => process.stderr.write(line + "\n"));
    this.proc = new RegistryProcess({
      binary: o.binary,
      logPath: join(this.dir, "registry.log"),
      pidPath: join(this.dir, "registry.pid"),
      addr: this.address,
      log: this.log,
      ...(o.backoffMs === undefined ? {} : { backoffMs: o.backoffMs }),
    });
    this.api = new RegistryApi(this.address, (access) =>
      this.issueToken("gantry-server", access, 120),
    );
  }

  /** Prepare DATA_DIR/registry (the signing key is made once) and the configs; not started. */
  static async create(o: RegistryServiceOptions): Promise<RegistryService> {
    const dir = join(o.dataDir, "registry");
    mkdirSync(join(dir, "data"), { recursive: true, mode: 0o700 });
    const svc = new RegistryService(o, await loadOrCreateSigningKey(dir));
    svc.writeConfigs();
    return svc;
  }

  private get configPath(): string {
    return join(this.dir, "config.yml");
  }

  private get readOnlyConfigPath(): string {
    return join(this.dir, "config-readonly.yml");
  }

  private writeConfigs(): void {
    const base = {
      addr: this.address,
      rootDirectory: this.dataRoot,
      realm: this.o.realm,
      certPath: this.signing.certPath,
      httpSecret: randomBytes(24).toString("hex"),
    };
    writeFileSync(this.configPath, registryConfig(base), { mode: 0o600 });
    writeFileSync(this.readOnlyConfigPath, registryConfig({ ...base, readOnly: true }), {
      mode: 0o600,
    });
  }

  /** Start the registry and wait until it answers; then prune now and then. */
  async start(): Promise<void> {
    await this.proc.start(this.configPath);
    const every = this.o.pruneEveryMs ?? 3_600_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        if (this.running)
          this.prune().catch((err: Error) => this.log(`registry prune: ${err.message}`));
      }, every);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pruning?.catch(() => undefined);
    await this.proc.stop();
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** The registry child's pid (tests kill it). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** A registry bearer token for `subject` holding `access`, valid `ttlSeconds`. */
  issueToken(subject: string, access: ResourceActions[], ttlSeconds = 300): string {
    return signRegistryToken(this.signing.key, this.signing.kid, {
      issuer: REGISTRY_ISSUER,
      service: REGISTRY_SERVICE,
      subject,
      access,
      ttlSeconds,
    });
  }

  auth(): RegistryAuth {
    return { username: "gantry", password: this.o.pushSecret, serveraddress: this.address };
  }

  withPush<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.shared(fn);
  }

  /** The images of `repos` (default: every repository) with the releases that run them. */
  async images(repos?: string[]): Promise<ImageView[]> {
    const records = await readImages(this.api, repos);
    const apps = [...new Set(records.map((r) => r.repository).filter((r) => !r.includes("/")))];
    const releases: ReleaseImage[] = [];
    for (const app of apps) releases.push(...(await readAppReleases(this.o.store, app)).releases);
    return imageViews(records, releases);
  }

  /** For apps:destroy: every image of the app goes (space returns at the next GC). */
  deleteAppImages(app: string): Promise<string[]> {
    return deleteAppImages(this.api, app);
  }

  /** Retention for every app, then garbage collection when something went. One at a time. */
  prune(opts: { gc?: "auto" | "always" } = {}): Promise<PruneResult> {
    this.pruning ??= this.pruneNow(opts.gc ?? "auto").finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneNow(gc: "auto" | "always"): Promise<PruneResult> {
    const deleted: PruneResult["deleted"] = [];
    for (const app of await appNames(this.o.store)) {
      const digests = await applyRetention(this.o.store, this.api, app, this.keepReleases);
      if (digests.length > 0) deleted.push({ app, digests });
    }
    const result =
      deleted.length > 0 || gc === "always"
        ? await this.collectGarbage()
        : { ran: false, reason: "nothing was deleted", ms: 0 };
    return { deleted, gc: result };
  }

  /**
   * The registry's garbage collection (`garbage-collect --delete-untagged`), with the registry
   * restarted read-only meanwhile (pulls go on, pushes wait) and never during a push: Gantry's
   * own pushes hold the lock; a push from outside shows as a fresh upload and defers the GC.
   */
  collectGarbage(): Promise<GcResult> {
    return this.lock.exclusive(async () => {
      const started = Date.now();
      if (uploadsInFlight(this.dataRoot))
        return { ran: false, reason: "a push is in flight", ms: 0 };
      await this.proc.restart(this.readOnlyConfigPath);
      try {
        await run(this.o.binary, ["garbage-collect", this.configPath, "--delete-untagged"], {
          timeout: 600_000,
          maxBuffer: 64 * 1024 * 1024,
        });
      } finally {
        await this.proc.restart(this.configPath);
      }
      return { ran: true, ms: Date.now() - started };
    });
  }
}
