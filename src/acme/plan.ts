/**
 * Which apps need a certificate by ACME now, and when to look again: a pure function of the apps,
 * their stored certificates, their issuance state and the clock (the controller only acts).
 */

/** What the plan needs of a stored certificate. */
export interface PlanCert {
  source: "manual" | "acme";
  domains: string[];
  notBefore: string;
  notAfter: string;
}

export interface AcmeWorld {
  apps: { name: string; domains: string[] }[];
  certs: ReadonlyMap<string, PlanCert>;
  /** Apps whose last attempt failed: not before `nextAttempt`. */
  retries: ReadonlyMap<string, { nextAttempt: string }>;
  /** Apps opted out (`gantry certs:auto APP --off`). */
  off: ReadonlySet<string>;
}

export interface AcmeWork {
  app: string;
  domains: string[];
  why: "new" | "domains changed" | "renewal";
}

export interface AcmePlan {
  work: AcmeWork[];
  /** Apps with an issuance state that want no certificate by ACME any more (gone, opted out). */
  stale: string[];
  /** The next time something falls due (ms since the epoch), if anything will. */
  wakeAt: number | undefined;
}

const FIRST_RETRY_MS = 5_000;
const MAX_RETRY_MS = 3_600_000;

/**
 * The names of an app a public CA can vouch for: its custom domains without `localhost` and
 * `*.localhost` (those are served with the cluster CA), sorted.
 */
export function acmeDomains(domains: readonly string[]): string[] {
  const out = domains.filter((d) => d !== "localhost" && !d.endsWith(".localhost"));
  return [...new Set(out)].sort();
}

/**
 * When a certificate is renewed: `renewBeforeMs` before it expires, but never in the first tenth
 * of its life, so a renew-before longer than the CA's lifetime does not renew without pause.
 */
export function renewAt(
  cert: Pick<PlanCert, "notBefore" | "notAfter">,
  renewBeforeMs: number,
): number {
  const from = Date.parse(cert.notBefore);
  const to = Date.parse(cert.notAfter);
  return Math.max(to - renewBeforeMs, from + (to - from) / 10);
}

/** How long to wait after the n-th failure in a row: 5 s doubling, at most an hour. */
export function retryDelayMs(failures: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_MS);
}

/** What to issue or renew now, and when to wake up for the next. */
export function planAcme(world: AcmeWorld, renewBeforeMs: number, now: number): AcmePlan {
  const work: AcmeWork[] = [];
  const wanted = new Set<string>();
  let wakeAt: number | undefined;
  const wake = (t: number): void => {
    wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
  };
  for (const app of world.apps) {
    const domains = acmeDomains(app.domains);
    if (domains.length === 0 || world.off.has(app.name)) continue;
    const cert = world.certs.get(app.name);
    // A certificate given with certs:add wins.
    if (cert?.source === "manual") continue;
    wanted.add(app.name);
    let why: AcmeWork["why"] | undefined;
    let due = now;
    if (cert === undefined) why = "new";
    else if (cert.domains.slice().sort().join(",") !== domains.join(",")) why = "domains changed";
    else {
      due = renewAt(cert, renewBeforeMs);
      why = "renewal";
    }
    const retry = world.retries.get(app.name);
    if (retry !== undefined) due = Math.max(due, Date.parse(retry.nextAttempt));
    if (due <= now) work.push({ app: app.name, domains, why });
    else wake(due);
  }
  const stale = [...world.retries.keys()].filter((app) => !wanted.has(app));
  return { work, stale, wakeAt };
}
