import { Readable } from "node:stream";
import { ArtifactStore } from "../build/artifacts.js";
import { GantryClient } from "../client/client.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";
import { text } from "../store/values.js";
import { sleep } from "../sleep.js";

/** `sys/servers/<name>` as far as artifacts need it: where the other servers' APIs answer. */
const SERVERS = "sys/servers/";

export interface ArtifactPeersOptions {
  store: Store;
  dataDir: string;
  /** This server's API URL (not asked). */
  selfUrl: string;
  /** A token every server accepts (the data directory's admin token). */
  token: string;
  log: (line: string) => void;
  /** Aborted when the server stops: downloads under way end. */
  signal?: AbortSignal;
}

/**
 * Artifacts live on the disk of the server that built them (DATA_DIR/artifacts). With several
 * servers, an agent asks whichever server it talks to, and that server may have died since the
 * build: so a server that lacks an artifact fetches it from the servers that registered in
 * `sys/servers/` (checking its sha256 on the way in), and every server copies the artifacts of
 * new releases as they appear (startArtifactSync), so the loss of the building server loses none.
 */
export class ArtifactPeers {
  private readonly artifacts: ArtifactStore;
  private readonly inflight = new Map<string, Promise<boolean>>();

  constructor(private readonly o: ArtifactPeersOptions) {
    this.artifacts = new ArtifactStore(o.dataDir);
  }

  /** The other servers' API URLs, as registered. */
  async peers(): Promise<string[]> {
    const r = await this.o.store.range({ prefix: SERVERS });
    const urls: string[] = [];
    for (const kv of r.kvs) {
      try {
        const url = (JSON.parse(text(kv.value)) as { apiUrl?: unknown }).apiUrl;
        if (typeof url === "string" && url !== this.o.selfUrl) urls.push(url);
      } catch {
        // a record this version does not read: not a peer to ask
      }
    }
    return urls;
  }

  /** Make sure the artifact is here: true when it is (now), false when no peer had it. */
  fetch(sha: string): Promise<boolean> {
    if (this.artifacts.has(sha)) return Promise.resolve(true);
    let p = this.inflight.get(sha);
    if (p === undefined) {
      p = this.fetchOnce(sha).finally(() => this.inflight.delete(sha));
      this.inflight.set(sha, p);
    }
    return p;
  }

  private async fetchOnce(sha: string): Promise<boolean> {
    for (const url of await this.peers()) {
      const client = new GantryClient({ addr: url, token: this.o.token });
      try {
        const res = await client.request("GET", `/v1/artifacts/${sha}`, {
          stream: true,
          signal: AbortSignal.any([
            AbortSignal.timeout(120_000),
            ...(this.o.signal === undefined ? [] : [this.o.signal]),
          ]),
        });
        if (res.body === null) continue;
        const got = await this.artifacts.put(Readable.fromWeb(res.body as never));
        if (got.sha === sha) {
          this.o.log(`artifact ${sha.slice(0, 12)} copied from ${url}`);
          return true;
        }
        this.artifacts.remove(got.sha); // not what was asked for: never keep it
        this.o.log(`artifact ${sha.slice(0, 12)} from ${url} had sha256 ${got.sha}: dropped`);
      } catch {
        // that server is away or lacks it too: ask the next one
      }
    }
    return false;
  }
}

/**
 * Copy the artifact of every release (those there now, then each new one) from the peers that
 * have it, in the background; ends when `signal` aborts.
 */
export function startArtifactSync(
  peers: ArtifactPeers,
  store: Store,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const wanted = (value: Uint8Array): string | undefined => {
    try {
      const a = (JSON.parse(text(value)) as { artifact?: unknown }).artifact;
      return typeof a === "string" ? a : undefined;
    } catch {
      return undefined;
    }
  };
  const copy = async (sha: string): Promise<void> => {
    // The building server may not have registered its record yet: a few tries, then the
    // pull on first use (the artifact route) is what is left.
    for (let i = 0; i < 5 && !signal.aborted; i++) {
      if (await peers.fetch(sha)) return;
      await sleep(1000 * (i + 1), signal);
    }
  };
  const round = async (): Promise<void> => {
    const now = await store.range({ prefix: K.releases });
    if ((await peers.peers()).length > 0) {
      const shas = new Set(now.kvs.map((kv) => wanted(kv.value)).filter((s) => s !== undefined));
      for (const sha of shas) if (!signal.aborted) await copy(sha);
    }
    const watch = store.watch({ prefix: K.releases }, { startRevision: now.revision + 1 });
    const cancel = (): void => watch.cancel();
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for await (const batch of watch)
        for (const ev of batch) {
          const sha = ev.type === "put" ? wanted(ev.kv.value) : undefined;
          if (sha !== undefined) void copy(sha);
        }
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  };
  return (async () => {
    // A store that is away (no quorum, a restart) ends a round; the next one starts over.
    while (!signal.aborted) {
      try {
        await round();
      } catch (err) {
        if (!signal.aborted) log(`artifact sync: ${(err as Error).message}; again in 2 s`);
      }
      await sleep(2000, signal);
    }
  })();
}
