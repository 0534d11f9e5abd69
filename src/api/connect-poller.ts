/**
 * The poll fallback of connected apps (apps:connect --poll), on the controller leader only:
 * every app's branch is looked at with `git ls-remote` every pollMs; a commit the connection
 * has not built (nor is building) is built like a webhook's push, through the same per-app
 * queue and once-per-commit claim (src/api/connect-build.ts). Each check is recorded on the
 * connection (lastCheckedAt, lastError), which `gantry apps:connection` shows.
 */
import { listConnections, patchConnection } from "../apps/connect-records.js";
import { appKey } from "../apps/keys.js";
import type { AppConnection } from "../model/connect.js";
import { lsRemote } from "../gitops/remote.js";
import { sleep } from "../sleep.js";
import { connectRemoteOptions, queueConnectedBuild, repoUrl } from "./connect-build.js";
import type { ApiDeps } from "./server.js";

/** How often the list of connections is looked at (each app is checked on its own pollMs). */
const TICK_MS = 1_000;
const POLL_ERROR = "poll: ";

export interface ConnectPollerOptions {
  deps: ApiDeps;
  log: (line: string) => void;
  tickMs?: number;
}

/**
 * Start polling; stop() ends it (leadership lost, server stopping) and waits for the checks,
 * not for builds they started: those are this server's work, ended by its own shutdown.
 */
export function startConnectPoller(opts: ConnectPollerOptions): { stop(): Promise<void> } {
  const abort = new AbortController();
  const checking = new Map<string, Promise<void>>();
  const building = new Set<string>();
  const checkedAt = new Map<string, number>();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const now = Date.now();
        for (const c of await listConnections(opts.deps.store)) {
          if (c.pollMs === 0 || checking.has(c.app) || building.has(c.app)) continue;
          const recorded = Date.parse(c.lastCheckedAt ?? "");
          const last = checkedAt.get(c.app) ?? (Number.isFinite(recorded) ? recorded : 0);
          if (now - last < c.pollMs) continue;
          checkedAt.set(c.app, now);
          const run = check(opts, c, abort.signal)
            .then((head) => {
              if (head === undefined || abort.signal.aborted) return;
              building.add(c.app);
              void build(opts, c.app, head).finally(() => building.delete(c.app));
            })
            .finally(() => checking.delete(c.app));
          checking.set(c.app, run);
        }
      } catch (err) {
        if (!abort.signal.aborted)
          opts.log(`connect: cannot list connections: ${(err as Error).message}`);
      }
      await sleep(opts.tickMs ?? TICK_MS, abort.signal);
    }
  })();
  return {
    stop: async () => {
      abort.abort();
      await loop;
      await Promise.all(checking.values());
    },
  };
}

/** Look at one app's branch: the head to build when it is new. Never rejects. */
async function check(
  opts: ConnectPollerOptions,
  c: AppConnection,
  signal: AbortSignal,
): Promise<string | undefined> {
  const { deps } = opts;
  try {
    if ((await deps.store.get(appKey(c.app))) === undefined) return undefined;
    let head: string | undefined;
    let error: string | undefined;
    try {
      head = await lsRemote(repoUrl(deps, c), c.branch, signal, connectRemoteOptions());
      if (head === undefined) error = `${c.repo} has no branch "${c.branch}"`;
    } catch (err) {
      error = `cannot read ${c.repo}: ${(err as Error).message}`;
    }
    if (signal.aborted) return undefined;
    const now = await patchConnection(deps.store, c.app, (cur) => {
      const next: AppConnection = { ...cur, lastCheckedAt: new Date().toISOString() };
      if (error !== undefined) next.lastError = `${POLL_ERROR}${error}`.slice(0, 2048);
      else if (cur.lastError?.startsWith(POLL_ERROR)) delete next.lastError;
      return next;
    });
    if (now === undefined || head === undefined) return undefined;
    if (now.lastCommit === head || now.building?.commit === head) return undefined;
    return head;
  } catch (err) {
    if (!signal.aborted) opts.log(`connect: checking ${c.app}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Build a head the poll found, through the same queue and claim as a webhook's push. */
async function build(opts: ConnectPollerOptions, app: string, head: string): Promise<void> {
  const outcome = await queueConnectedBuild(opts.deps, { app, commit: head, via: "poll" });
  const short = `connect: ${app} ${head.slice(0, 12)} (poll)`;
  if (outcome.status === "built")
    opts.log(`${short}: ${outcome.ok ? "released" : `failed: ${outcome.error ?? ""}`}`);
  else if (outcome.status === "failed") opts.log(`${short}: ${outcome.error}`);
}
