/** The app page's pure parts (unit tested in logic.test.ts). */
import type { AppInfo, BuildView, CertView, ReleaseView } from "./types";

/** `<ISO time> <text>` (a build's log file) → the text. */
export const fileLine = (line: string): string => line.replace(/^\S+ /, "");
/** `<ISO time> build <text>` (the app's log, source `build`) → the text. */
export const appLogLine = (line: string): string => line.replace(/^\S+ \S+ ?/, "");

/** How long a build took (or has taken so far): `42s`, `3m 05s`. */
export function duration(b: BuildView, now = Date.now()): string {
  const end = b.finishedAt === undefined ? now : Date.parse(b.finishedAt);
  const s = Math.max(0, Math.round((end - Date.parse(b.startedAt)) / 1000));
  if (Number.isNaN(s)) return "—";
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

/** Whether a certificate name (maybe `*.example.com`) covers a host name. */
export function covers(certName: string, host: string): boolean {
  if (certName === host) return true;
  if (!certName.startsWith("*.")) return false;
  const rest = host.slice(host.indexOf(".") + 1);
  return host.includes(".") && rest === certName.slice(2);
}

/** The certificate state of one host name, in a word and a note. */
export function certState(
  host: string,
  cert: CertView | undefined,
  now = Date.now(),
): { state: string; note: string } {
  if (cert === undefined || !cert.domains.some((d) => covers(d, host)))
    return { state: "none", note: "plain HTTP" };
  if (cert.pending === true) return { state: "pending", note: "being obtained" };
  if (Date.parse(cert.notAfter) < now) return { state: "expired", note: cert.issuer };
  if (cert.lastError !== undefined) return { state: "warning", note: cert.lastError };
  return { state: "valid", note: `${cert.source}, ${cert.issuer}` };
}

/** What made a release, from its record: a build, a config change, a rollback, a promotion. */
export function releaseKind(r: ReleaseView): string {
  if (/^Rollback to v\d+/.test(r.description)) return "rollback";
  if (/^(Set|Unset) /.test(r.description)) return "config";
  if (/^Promote/i.test(r.description)) return "promote";
  return r.build === undefined ? "config" : "build";
}

/** The process types to offer: the current release's and those in the formation. */
export function processTypes(info: AppInfo): string[] {
  const types = new Set([
    ...Object.keys(info.release?.processTypes ?? {}),
    ...Object.keys(info.formation),
  ]);
  return [...types].sort();
}

/** The changed counts of a draft (what `gantry ps:scale app web=3` would send). */
export function changedCounts(
  formation: Record<string, number>,
  draft: Record<string, string>,
): Record<string, number> | string {
  const out: Record<string, number> = {};
  for (const [type, raw] of Object.entries(draft)) {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isInteger(n) || n < 0 || n > 100)
      return `${type} must be a whole number from 0 to 100`;
    if (n !== (formation[type] ?? 0)) out[type] = n;
  }
  return out;
}
