/**
 * Leader election on top of sessions and locks: every candidate campaigns for one lock key with
 * its own session; the holder leads until it resigns or its session is lost, and then the next
 * waiting candidate takes over. Observers follow the key with blocking reads.
 */
import type { ApiKeyValue, GantryClient } from "../client/client.js";
import {
  isHeld,
  readLockKey,
  Session,
  tryAcquire,
  type SessionLostError,
} from "../client/sessions.js";
import { GantryError } from "../errors.js";

export interface Leader {
  /** What the leader proclaimed (its campaign value). */
  value: string;
  /** The leader's session id. */
  session: string | undefined;
  modRevision: number;
}

export interface ElectionOptions {
  /** Session TTL: how long a dead leader keeps the role ("15s" by default). */
  ttl?: string;
  /** The lock key (default `elections/<name>`). */
  key?: string;
  /** Called if leadership (or the candidacy) is lost because the session expired. */
  onLost?: (err: SessionLostError) => void;
}

const MAX_BLOCK_MS = 60_000;

export class Election {
  readonly key: string;
  private session: Session | undefined;
  private leading = false;

  constructor(
    private readonly client: GantryClient,
    readonly name: string,
    private readonly opts: ElectionOptions = {},
  ) {
    this.key = opts.key ?? `elections/${name}`;
  }

  /**
   * Campaign with `value`: resolves once this candidate leads. Rejects with the abort reason if
   * `signal` aborts first, or SessionLostError if the session is lost while waiting.
   */
  async campaign(value: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.session !== undefined)
      throw new GantryError("already_campaigning", `already campaigning in ${this.key}`, {
        status: 409,
      });
    const session = await Session.create(this.client, {
      name: this.key,
      behavior: "delete", // resigning deletes the key, so observers see "no leader" at once
      ...(this.opts.ttl === undefined ? {} : { ttl: this.opts.ttl }),
      onLost: (err) => {
        this.leading = false;
        this.opts.onLost?.(err);
      },
    });
    this.session = session;
    try {
      await session.acquire(this.key, value, opts.signal ? { signal: opts.signal } : {});
      this.leading = true;
    } catch (err) {
      this.session = undefined;
      await session.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** True while this candidate holds the role (its session alive). */
  get isLeader(): boolean {
    return this.leading && this.session?.lost === undefined;
  }

  /** Aborted when this candidate's leadership ends (lost or resigned); undefined before campaigning. */
  get signal(): AbortSignal | undefined {
    return this.session?.signal;
  }

  /** Publish a new value while leading. */
  async proclaim(value: string): Promise<void> {
    if (!this.isLeader || this.session === undefined)
      throw new GantryError("not_leader", `not the leader of ${this.key}`, { status: 409 });
    if (!(await tryAcquire(this.client, this.key, this.session.id, value)))
      throw new GantryError("not_leader", `no longer the leader of ${this.key}`, { status: 409 });
  }

  /** Give up the role (or the candidacy): the next candidate takes over. */
  async resign(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.leading = false;
    await session?.destroy();
  }

  /** The current leader, or undefined when there is none. */
  async leader(): Promise<Leader | undefined> {
    const { kv } = await readLockKey(this.client, this.key);
    return isHeld(kv) ? toLeader(kv) : undefined;
  }

  /**
   * The current leader, then each change of leader or value (undefined: no leader), until
   * `signal` aborts. Uses blocking reads, so an idle election costs one open request.
   */
  async *observe(opts: { signal?: AbortSignal } = {}): AsyncGenerator<Leader | undefined> {
    const signal = opts.signal;
    let last: string | undefined;
    let index: number | undefined;
    while (!signal?.aborted) {
      let kv: ApiKeyValue | undefined;
      try {
        ({ kv, index } = await readLockKey(this.client, this.key, {
          ...(index === undefined ? {} : { index, waitMs: MAX_BLOCK_MS }),
          ...(signal ? { signal } : {}),
        }));
      } catch (err) {
        if (signal?.aborted) return;
        throw err;
      }
      const leader = isHeld(kv) ? toLeader(kv) : undefined;
      const tag = leader === undefined ? "" : `${leader.session}@${leader.modRevision}`;
      if (tag !== last) {
        last = tag;
        yield leader;
      }
    }
  }
}

function toLeader(kv: ApiKeyValue): Leader {
  return {
    value: Buffer.from(kv.value, "base64").toString("utf8"),
    session: kv.session,
    modRevision: kv.modRevision,
  };
}

/** Campaign for `name` with `value`; resolves with the Election once this process leads. */
export async function campaign(
  client: GantryClient,
  name: string,
  value: string,
  opts: ElectionOptions & { signal?: AbortSignal } = {},
): Promise<Election> {
  const { signal, ...rest } = opts;
  const election = new Election(client, name, rest);
  await election.campaign(value, signal ? { signal } : {});
  return election;
}
