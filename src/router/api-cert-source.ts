import type { GantryClient } from "../client/client.js";
import { readCertBundle } from "../client/certs.js";
import { ApiError, ConnectError } from "../client/errors.js";
import type { CertBundle } from "../model/cert-bundle.js";
import { sleep } from "../sleep.js";
import type { CertSource, RouterCert } from "./https.js";

export interface ApiCertSourceOptions {
  /** A client whose token has cert read (a router token). */
  client: GantryClient;
  log?: (line: string) => void;
  /** How long each blocking read may wait on the server (default "60s"). */
  wait?: string;
}

/**
 * The certificates a standalone router serves, from the server's API by blocking reads of
 * `GET /v1/certs/bundle?index&wait` (as ApiRouteSource follows apps): a certificate added or
 * replaced with `gantry certs:add` arrives within milliseconds. While the server is away or
 * refuses, the router serves the certificates it last had.
 */
export class ApiCertSource implements CertSource {
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ApiCertSourceOptions) {
    this.log = opts.log ?? ((line) => process.stderr.write(line + "\n"));
  }

  watch(onUpdate: (certs: RouterCert[]) => void): () => void {
    const stop = new AbortController();
    void this.follow(stop.signal, onUpdate);
    return () => stop.abort();
  }

  private async follow(
    signal: AbortSignal,
    onUpdate: (certs: RouterCert[]) => void,
  ): Promise<void> {
    let index: number | undefined;
    let failures = 0;
    let last = "";
    let held: RouterCert[] = [];
    let unreadable = "";
    while (!signal.aborted) {
      try {
        const res = await readCertBundle(this.opts.client, {
          ...(index === undefined ? {} : { index }),
          wait: this.opts.wait ?? "60s",
          signal,
        });
        if (signal.aborted) return;
        if (failures > 0) this.log("router: reading the certificates again");
        failures = 0;
        const next = routerCerts(res.value, held);
        const bad = (res.value.unreadable ?? []).join(", ");
        if (bad !== unreadable && bad !== "")
          this.log(
            `router: the server cannot open the certificate of ${bad}; keeping the last good one`,
          );
        unreadable = bad;
        held = next;
        const text = JSON.stringify(next);
        if (text !== last) {
          last = text;
          onUpdate(next);
        }
        index = res.index > 0 ? res.index : undefined;
      } catch (err) {
        if (signal.aborted) return;
        if (++failures === 1)
          this.log(`router: cannot read the certificates: ${describe(err)} (retrying)`);
        index = undefined;
        await sleep(backoff(failures, err), signal);
      }
    }
  }
}

/**
 * What to serve for a bundle: its certificates, and for each app the server could not open,
 * the certificate it had before (the last good one).
 */
export function routerCerts(bundle: CertBundle, before: readonly RouterCert[]): RouterCert[] {
  const out: RouterCert[] = bundle.certs.map((c) => ({
    domains: c.domains,
    certPem: c.certPem,
    keyPem: c.keyPem,
    label: c.app,
  }));
  for (const app of bundle.unreadable ?? []) {
    const kept = before.find((c) => c.label === app);
    if (kept !== undefined) out.push(kept);
  }
  return out.sort((a, b) => ((a.label ?? "") < (b.label ?? "") ? -1 : 1));
}

/** Server away: quick retries; refused (no cert read) or no such route: slow ones. */
function backoff(failures: number, err: unknown): number {
  if (err instanceof ApiError && [401, 403, 404].includes(err.status)) return 5000;
  return Math.min(5000, 100 * 2 ** Math.min(failures, 6));
}

function describe(err: unknown): string {
  if (err instanceof ConnectError || err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
