import type { SecretBox } from "../apps/secrets.js";
import type { CertSource, RouterCert } from "../router/https.js";
import type { Store } from "../store/index.js";
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
          onUpdate(this.open(res.kvs.map((kv) => Buffer.from(kv.value).toString("utf8"))));
          watch = this.store.watch({ prefix: CERTS_PREFIX }, { startRevision: res.revision + 1 });
          for await (const batch of watch) {
            void batch;
            const now = await this.store.range({ prefix: CERTS_PREFIX });
            onUpdate(this.open(now.kvs.map((kv) => Buffer.from(kv.value).toString("utf8"))));
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

  private open(values: string[]): RouterCert[] {
    const out: RouterCert[] = [];
    for (const v of values) {
      try {
        out.push(openCert(this.box, CertRecordSchema.parse(JSON.parse(v))));
      } catch (err) {
        this.log(`router: a stored certificate does not open: ${String(err)}`);
      }
    }
    return out;
  }
}

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
