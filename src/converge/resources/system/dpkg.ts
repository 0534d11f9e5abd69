/** What dpkg knows about one package. */
export interface DpkgPackage {
  /** `bash`, or `libc6:amd64` for a Multi-Arch: same package. */
  binaryName: string;
  name: string;
  /** Fully installed (`install ok installed` / `hold ok installed`). */
  installed: boolean;
  /** The installed version; `""` when dpkg has none. */
  version: string;
}

/** The dpkg-query format that parseDpkgQuery reads. */
export const DPKG_QUERY_FORMAT = "${binary:Package}\\t${Package}\\t${Status}\\t${Version}\\n";

/** Parse `dpkg-query -W -f DPKG_QUERY_FORMAT` output. */
export function parseDpkgQuery(stdout: string): DpkgPackage[] {
  const out: DpkgPackage[] = [];
  for (const line of stdout.split("\n")) {
    const [binaryName, name, status, version] = line.split("\t");
    if (binaryName === undefined || name === undefined || status === undefined) continue;
    const installed = status.split(" ")[2] === "installed";
    out.push({ binaryName, name, installed, version: installed ? (version ?? "") : "" });
  }
  return out;
}

/** The installed version of `wanted` (`nginx` or `libc6:amd64`) in a dpkg-query result. */
export function installedVersion(pkgs: DpkgPackage[], wanted: string): string | undefined {
  const hit =
    pkgs.find((p) => p.installed && p.binaryName === wanted) ??
    (wanted.includes(":") ? undefined : pkgs.find((p) => p.installed && p.name === wanted));
  return hit?.version;
}

/** Debian package names, optionally with an architecture: no globs reach dpkg-query. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$/;

/** Debian version strings: `[epoch:]upstream[-revision]`. */
export const PACKAGE_VERSION = /^(\d+:)?[0-9A-Za-z.+~:-]+$/;

/** Compare two Debian versions the way dpkg does: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = splitVersion(a);
  const pb = splitVersion(b);
  if (pa.epoch !== pb.epoch) return pa.epoch - pb.epoch;
  return verrevcmp(pa.upstream, pb.upstream) || verrevcmp(pa.revision, pb.revision);
}

function splitVersion(v: string): { epoch: number; upstream: string; revision: string } {
  const colon = v.indexOf(":");
  const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf("-");
  return dash < 0
    ? { epoch, upstream: rest, revision: "" }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";

/** dpkg's ordering of non-digits: `~` before the end, letters before everything else. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  if (c === "~") return -1;
  return c.charCodeAt(0) + 256;
}

// A transcription of dpkg's verrevcmp (lib/dpkg/version.c).
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const diff = order(a[i]) - order(b[j]);
      if (diff !== 0) return diff;
      i++;
      j++;
    }
    while (a[i] === "0") i++;
    while (b[j] === "0") j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}
