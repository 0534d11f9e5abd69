/**
 * Keep a server's etcd running: when it exits unexpectedly, log it and start it again with
 * backoff (1 s, doubling up to 30 s; back to 1 s after a minute of running). An etcd that says
 * it was removed from the cluster is not started again: `exited` then resolves with
 * `removed: true` and the server stops with ServerRemovedError's message.
 */
import { ServerRemovedError } from "./errors.js";
import type { EtcdExit, SupervisedEtcd } from "./etcd-process.js";

export interface SuperviseOptions {
  /** Start etcd again (on its data: no initial cluster, no --force-new-cluster). */
  relaunch: (signal: AbortSignal) => Promise<SupervisedEtcd>;
  log: (line: string) => void;
  firstBackoffMs?: number;
  maxBackoffMs?: number;
}

const STEADY_MS = 60_000;

/** The backoff after `failures` quick exits in a row (pure). */
export function backoffMs(failures: number, first = 1_000, max = 30_000): number {
  return Math.min(max, first * 2 ** Math.max(0, failures - 1));
}

export function superviseEtcd(first: SupervisedEtcd, o: SuperviseOptions): SupervisedEtcd {
  let current: SupervisedEtcd | undefined = first;
  let stopping = false;
  let failures = 0;
  let startedAt = Date.now();
  let wake: (() => void) | undefined;
  const abort = new AbortController();
  let resolveExit!: (e: EtcdExit) => void;
  const exited = new Promise<EtcdExit>((r) => (resolveExit = r));

  const wait = (ms: number): Promise<void> =>
    new Promise((r) => {
      const t = setTimeout(r, ms);
      wake = () => {
        clearTimeout(t);
        r();
      };
    });

  const loop = async (): Promise<void> => {
    let last: EtcdExit = { code: null, signal: null, removed: false };
    while (current !== undefined) {
      last = await current.exited;
      current = undefined;
      if (stopping) break;
      if (last.removed) {
        o.log(`etcd: ${new ServerRemovedError().message}`);
        break;
      }
      failures = Date.now() - startedAt > STEADY_MS ? 1 : failures + 1;
      for (;;) {
        const delay = backoffMs(failures, o.firstBackoffMs, o.maxBackoffMs);
        o.log(
          `etcd exited unexpectedly (code ${last.code}, signal ${last.signal}); starting it again in ${delay} ms (see DATA_DIR/etcd.log)`,
        );
        await wait(delay);
        if (stopping) break;
        try {
          current = await o.relaunch(abort.signal);
          startedAt = Date.now();
          if (stopping) await current.stop();
          break;
        } catch (err) {
          if (err instanceof ServerRemovedError) {
            last = { code: null, signal: null, removed: true };
            o.log(`etcd: ${err.message}`);
            break;
          }
          if (stopping) break;
          o.log(`etcd: ${(err as Error).message}`);
          failures++;
        }
      }
      if (last.removed) break;
    }
    resolveExit(last);
  };
  void loop();

  return {
    clientUrl: first.clientUrl,
    peerUrl: first.peerUrl,
    get pid() {
      return current?.pid;
    },
    exited,
    stop: async () => {
      stopping = true;
      abort.abort();
      wake?.();
      await current?.stop();
      await exited;
    },
  };
}
