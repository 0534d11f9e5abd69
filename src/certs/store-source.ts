import type { SecretBox } from "../apps/secrets.js";
import type { CertSource, RouterCert } from "../router/https.js";
import type { KeyValue, Store } from "../store/index.js";
import { CERTS_PREFIX, CertRecordSchema, openCert } from "./record.js";

/**
 * The certificates given with `gantry certs:add`, read from the store and followed: every change
 * under `certs/` delivers the whole set again. For a router in the server's own process.
 */
export class StoreCertSource implements CertSource {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly log: (line: string) => void,
  ) {}

  watch(onUpdate: (certs: RouterCert[]) => void): () => void {
    let stopped = false;
    let watch: ReturnType<Store["watch"]> | undefined;
    const run = async (): Promise<void> => {
      while (!stopped) {
        try {
          const res = await this.store.range({ prefix: CERTS_PREFIX });
          onUpdate(this.open(res.kvs.map(entry)));
          watch = this.store.watch({ prefix: CERTS_PREFIX }, { startRevision: res.revision + 1 });
          for await (const batch of watch) {
            void batch;
            const now = await this.store.range({ prefix: CERTS_PREFIX });
            onUpdate(this.open(now.kvs.map(entry)));
          }
        } catch (err) {
          if (stopped) return;
          this.log(`router: following certificates: ${String(err)}; again in 1 s`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    void run();
    return () => {
      stopped = true;
      watch?.cancel();
    };
  }

  /** The last certificate of each key that opened: served on when a newer value does not. */
  private readonly lastGood = new Map<string, RouterCert>();

  private open(kvs: { key: string; value: string }[]): RouterCert[] {
    const out: RouterCert[] = [];
    const seen = new Set<string>();
    for (const { key, value } of kvs) {
      seen.add(key);
      try {
        const cert = openCert(this.box, CertRecordSchema.parse(JSON.parse(value)));
        this.lastGood.set(key, cert);
        out.push(cert);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        const kept = this.lastGood.get(key);
        this.log(
          `router: the stored certificate ${key} does not open (${why})${kept === undefined ? "" : "; keeping the last good one"}`,
        );
        if (kept !== undefined) out.push(kept);
      }
    }
    for (const key of [...this.lastGood.keys()]) if (!seen.has(key)) this.lastGood.delete(key);
    return out;
  }
}

const entry = (kv: KeyValue): { key: string; value: string } => ({
  key: kv.key,
  value: Buffer.from(kv.value).toString("utf8"),
});

/** One source from several: each delivery is all of them, later sources winning a name. */
export function combineCertSources(...sources: CertSource[]): CertSource {
  return {
    watch: (onUpdate) => {
      const latest: RouterCert[][] = sources.map(() => []);
      const stops = sources.map((s, i) =>
        s.watch((certs) => {
          latest[i] = certs;
          onUpdate(latest.flat());
        }),
      );
      return () => stops.forEach((stop) => stop());
    },
  };
}
