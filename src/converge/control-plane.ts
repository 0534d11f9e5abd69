/**
 * The ControlPlane a state reads (types.ts) over the HTTP API: KV keys, healthy service
 * instances, waiting for either, run-once locks and app config secrets. Used by agents (and by
 * `gantry converge --local` when a server is reachable). Not reachable from run.ts: the runner
 * bundled for SSH hosts gets no control plane.
 */
import { CatalogClient } from "../client/catalog.js";
import type { GantryClient } from "../client/client.js";
import { readLockKey, Session } from "../client/sessions.js";
import { GantryError } from "../errors.js";
import type { ControlPlane } from "./types.js";

/** Where run-once locks and done markers live in the user KV space (an operator may delete them). */
export const ONCE_PREFIX = "converge/once/";

/** Longest single blocking read; waits loop over them. */
const MAX_BLOCK_MS = 30_000;

/** A scope as KV key segments: no empty, "." or ".." segments (URLs would resolve those). */
function onceKey(scope: string): string {
  return scope
    .split("/")
    .filter((s) => s !== "")
    .map((s) => (/^\.+$/.test(s) ? s.replace(/\./g, "%2E") : s))
    .join("/");
}

/** A `waitFor` that ran out of time. */
export class WaitTimeoutError extends GantryError {
  constructor(what: string, timeoutMs: number) {
    super("wait_timeout", `waited ${timeoutMs} ms for ${what}; it did not appear`, {
      status: 504,
    });
  }
}

export interface ApiControlPlaneOptions {
  /** Names the run-once session (`converge/<node>`) and the done marker's value. */
  node: string;
}

/** A ControlPlane over the API; `close()` destroys its run-once session, if one was made. */
export class ApiControlPlane implements ControlPlane {
  private readonly catalog: CatalogClient;
  private session: Promise<Session> | undefined;
  /** Key → the modRevision its value had when read (present keys only). */
  readonly seen = new Map<string, number>();

  constructor(
    private readonly client: GantryClient,
    private readonly opts: ApiControlPlaneOptions,
  ) {
    this.catalog = new CatalogClient(client);
  }

  async key(key: string): Promise<string | undefined> {
    const kv = await this.client.kvGet(key);
    if (kv !== undefined) this.seen.set(key, kv.modRevision);
    return kv === undefined ? undefined : Buffer.from(kv.value, "base64").toString("utf8");
  }

  async service(
    name: string,
  ): Promise<{ address: string; port: number; node: string; id: string }[]> {
    const res = await this.catalog.service(name, { passing: true });
    return res.value.map((i) => ({ address: i.address, port: i.port, node: i.node, id: i.id }));
  }

  async waitFor(
    target: { key: string } | { service: string },
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const what =
      "key" in target ? `key "${target.key}"` : `a passing instance of "${target.service}"`;
    let index: number | undefined;
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new WaitTimeoutError(what, timeoutMs);
        const waitMs = Math.max(1, Math.min(left, MAX_BLOCK_MS));
        if ("key" in target) {
          const res = await readLockKey(this.client, target.key, {
            ...(index === undefined ? {} : { index, waitMs }),
            signal: timeout,
          });
          if (res.kv !== undefined) return;
          index = res.index;
        } else {
          const res = await this.catalog.service(target.service, {
            passing: true,
            ...(index === undefined ? {} : { index, wait: `${Math.ceil(waitMs)}ms` }),
            signal: timeout,
          });
          if (res.value.length > 0) return;
          index = res.index;
        }
      }
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (timeout.aborted) throw new WaitTimeoutError(what, timeoutMs);
      throw err;
    }
  }

  /**
   * One node runs `fn` per scope: take the lock `converge/once/<scope>/lock` with this agent's
   * session, skip when `converge/once/<scope>/done` exists, write it after `fn` succeeded. A node
   * that waited for the lock sees the marker and skips; a failed `fn` leaves no marker, so the
   * next node (or run) tries again.
   */
  async once(scope: string, fn: () => Promise<void>): Promise<boolean> {
    const base = ONCE_PREFIX + onceKey(scope);
    const done = `${base}/done`;
    if ((await this.client.kvGet(done)) !== undefined) return false;
    const session = await this.ensureSession();
    await session.acquire(`${base}/lock`, this.opts.node);
    try {
      if ((await this.client.kvGet(done)) !== undefined) return false;
      await fn();
      await this.client.kvPut(
        done,
        JSON.stringify({ node: this.opts.node, at: new Date().toISOString() }),
      );
      return true;
    } finally {
      await session.release(`${base}/lock`).catch(() => undefined);
    }
  }

  async secret(app: string, name: string): Promise<string | undefined> {
    const cfg = await this.client.json<{ values: Record<string, string> }>(
      "GET",
      `/v1/apps/${encodeURIComponent(app)}/config`,
    );
    return Object.hasOwn(cfg.values, name) ? cfg.values[name] : undefined;
  }

  /** Destroy the run-once session (its locks are freed). */
  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s !== undefined) await (await s.catch(() => undefined))?.destroy().catch(() => undefined);
  }

  private ensureSession(): Promise<Session> {
    this.session ??= Session.create(this.client, {
      name: `converge/${this.opts.node}`,
      ttl: "15s",
    });
    const s = this.session;
    s.catch(() => {
      if (this.session === s) this.session = undefined;
    });
    return s;
  }
}

/** What a run read through the control plane: the keys and services to watch afterwards. */
export interface Reads {
  keys: Set<string>;
  /** Service name → the passing instances the run saw (serviceFingerprint). */
  services: Map<string, string>;
}

/** The form a service read is compared in: sorted, only what a template sees. */
export function serviceFingerprint(
  list: { address: string; port: number; node: string; id: string }[],
): string {
  return JSON.stringify(
    list.map((i) => [i.node, i.id, i.address, i.port]).sort((a, b) => (a < b ? -1 : 1)),
  );
}

/** Wrap a ControlPlane so that every `key()` and `service()` read is recorded in `reads`. */
export function recordingControlPlane(cp: ControlPlane, reads: Reads): ControlPlane {
  return {
    key: (key) => {
      reads.keys.add(key);
      return cp.key(key);
    },
    service: async (name) => {
      const list = await cp.service(name);
      if (!reads.services.has(name)) reads.services.set(name, serviceFingerprint(list));
      return list;
    },
    waitFor: (target, timeoutMs, signal) => cp.waitFor(target, timeoutMs, signal),
    once: (scope, fn) => cp.once(scope, fn),
    secret: (app, name) => cp.secret(app, name),
  };
}
