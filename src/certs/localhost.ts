import type { CertSource, RouterCert } from "../router/https.js";
import type { RouteSnapshot, RouteSource } from "../router/source.js";
import { issueCertificate, type ClusterCa } from "../tls/ca.js";

const DAYS = 90;

/**
 * Certificates from the cluster CA for `<app>.localhost`, one per app as apps appear in the
 * route table. A wildcard `*.localhost` would be simpler, but TLS clients refuse a wildcard
 * directly under a top-level name, so each app gets its own.
 */
export class LocalhostCertSource implements CertSource {
  private readonly certs = new Map<string, RouterCert>();
  private readonly listeners = new Set<(certs: RouterCert[]) => void>();
  private issuing: Promise<void> = Promise.resolve();

  constructor(
    /** Called at the first certificate, so a start without apps never makes or loads the CA. */
    private readonly ca: () => Promise<Pick<ClusterCa, "certPem" | "keyPem">>,
    private readonly domain: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The apps in the route table now: those without a certificate get one. */
  setRoutes(snapshot: RouteSnapshot): void {
    const names = snapshot.apps.map((a) => `${a.name}.${this.domain}`);
    // One issuing round at a time, in order: a later table never loses to an earlier one.
    this.issuing = this.issuing.then(() => this.issue(names));
  }

  /** A route source that hands each table to `setRoutes` on its way to the router. */
  follow(routes: RouteSource): RouteSource {
    return {
      watch: (onUpdate) =>
        routes.watch((snapshot) => {
          this.setRoutes(snapshot);
          onUpdate(snapshot);
        }),
    };
  }

  watch(onUpdate: (certs: RouterCert[]) => void): () => void {
    this.listeners.add(onUpdate);
    onUpdate([...this.certs.values()]);
    return () => this.listeners.delete(onUpdate);
  }

  private async issue(names: string[]): Promise<void> {
    const missing = names.filter((n) => !this.certs.has(n));
    if (missing.length === 0) return;
    for (const name of missing) {
      try {
        const cert = await issueCertificate(await this.ca(), {
          dnsNames: [name],
          ips: [],
          days: DAYS,
        });
        this.certs.set(name, { domains: [name], ...cert, label: name });
      } catch (err) {
        this.log(`router: cannot issue a certificate for ${name}: ${String(err)}`);
      }
    }
    const all = [...this.certs.values()];
    for (const l of this.listeners) l(all);
  }
}
