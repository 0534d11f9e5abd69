import { hostname, userInfo } from "node:os";
import type { GantryClient } from "../client/client.js";
import { Session } from "../client/sessions.js";
import { GantryError } from "../errors.js";

/**
 * The stack lock: a KV key held by a session (src/client/sessions.ts), the same kind of lock
 * `gantry lock` takes, so it works across processes and machines and frees itself when its holder
 * dies (the session's TTL). `gantry lock gantry/stack -- CMD` holds it too.
 */
export const STACK_LOCK_KEY = "locks/gantry/stack";

/** Waiting for the stack lock took longer than allowed. */
export class StackLockTimeoutError extends GantryError {
  constructor(holder: string) {
    super("lock_timeout", `gave up waiting for the stack lock held by ${holder}`, {
      status: 409,
    });
  }
}

export interface StackLockOptions {
  /** Give up after this long; default: wait as long as it takes. */
  timeoutMs?: number;
  /** Called once when another holds the lock and we start waiting. */
  onWait?: (holder: string) => void;
  /** What this holder is doing (`gantry apply`, `push abc123`), for the others' waiting line. */
  what?: string;
}

/**
 * Run `fn` while holding the stack lock. `fn` gets a signal that aborts if the lock is lost (the
 * session expired): the apply stops between items rather than run unguarded.
 */
export async function withStackLock<T>(
  client: GantryClient,
  opts: StackLockOptions,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const session = await Session.create(client, {
    name: "gantry stack lock",
    ttl: "15s",
    behavior: "delete",
  });
  try {
    const me = JSON.stringify({
      by: whoAmI(),
      pid: process.pid,
      what: opts.what ?? "gantry apply",
      since: new Date().toISOString(),
    });
    let holder = "another apply";
    const got = await session.acquire(STACK_LOCK_KEY, me, {
      ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
      onWait: (kv) => {
        holder = describeHolder(kv.value);
        opts.onWait?.(holder);
      },
    });
    if (!got) throw new StackLockTimeoutError(holder);
    return await fn(session.signal);
  } finally {
    await session.destroy().catch(() => undefined);
  }
}

/** `root@web-1 (gantry apply, pid 4242, since 12:00:01)` from a holder's value (base64 JSON). */
export function describeHolder(b64: string): string {
  try {
    // Ours, or what `gantry lock` writes ({host, pid, command, since}).
    const h = JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as {
      by?: string;
      host?: string;
      pid?: number;
      what?: string;
      command?: string;
      since?: string;
    };
    const since = h.since === undefined ? "" : `, since ${h.since.slice(11, 19)}`;
    const what = h.what ?? (h.command === undefined ? "gantry apply" : `gantry lock: ${h.command}`);
    return `${h.by ?? h.host ?? "someone"} (${what}, pid ${h.pid ?? "?"}${since})`;
  } catch {
    return "another holder";
  }
}

/** `user@host` of this process, for lock holders and the last apply. */
export function whoAmI(): string {
  let user = "someone";
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid)
  }
  return `${user}@${hostname()}`;
}
