/**
 * The `ssh` provider's two remote command lines, each a fixed POSIX sh script whose varying
 * parts (the root dir, the bundle's hash, a size) are positional arguments quoted by
 * shellQuote: nothing from a pool's settings is ever part of a script. The request itself
 * (and any token) goes on stdin.
 */
import { shellCommand } from "./quote.js";

/** The host has no Node ≥ 20. */
export const EXIT_NO_NODE = 97;
/** The host does not have this bundle yet: upload it and ask again. */
export const EXIT_NO_BUNDLE = 98;
/** The upload did not all arrive (nothing was kept). */
export const EXIT_SHORT_UPLOAD = 96;
/** What ssh itself exits with when it cannot connect or authenticate. */
export const EXIT_SSH = 255;

/** A relative root is under the ssh user's $HOME (tests give each host its own). */
const RESOLVE_ROOT = 'case "$1" in /*) r="$1";; *) r="$HOME/$1";; esac';

/**
 * Run the cached bundle's `pool-host` with the request on stdin. A host without the root has no
 * nodes: `list` and `destroy` are answered without a bundle there.
 */
export function hostCommand(root: string, hash: string, op: string): string {
  const script = [
    RESOLVE_ROOT,
    'if [ ! -d "$r" ] && [ "$3" != create ]; then echo \'{"ok":[]}\'; exit 0; fi',
    `n=$(command -v node) || { echo "gantry: node not found" >&2; exit ${EXIT_NO_NODE}; }`,
    'v=$("$n" -v 2>/dev/null)',
    `case "$v" in v[2-9][0-9].*|v[1-9][0-9][0-9]*) ;; *) echo "gantry: node $v is too old" >&2; exit ${EXIT_NO_NODE};; esac`,
    'b="$r/.bundles/gantry-agent-$2.mjs"',
    `test -f "$b" || exit ${EXIT_NO_BUNDLE}`,
    'exec "$n" "$b" pool-host "$r"',
  ].join("\n");
  return shellCommand(script, [root, checkHash(hash), op]);
}

/** Write stdin to ROOT/.bundles/gantry-agent-HASH.mjs atomically, only when all `size` bytes came. */
export function uploadCommand(root: string, hash: string, size: number): string {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad bundle size: ${size}`);
  const script = [
    RESOLVE_ROOT,
    'd="$r/.bundles"',
    'mkdir -p "$d"',
    't="$d/.upload.$$"',
    'cat > "$t"',
    `{ s=$(wc -c < "$t") && [ $s -eq "$3" ] || { rm -f "$t"; echo "gantry: the upload was cut short" >&2; exit ${EXIT_SHORT_UPLOAD}; }; }`,
    'mv -f "$t" "$d/gantry-agent-$2.mjs"',
  ].join(" && ");
  return shellCommand(script, [root, checkHash(hash), String(size)]);
}

function checkHash(hash: string): string {
  if (!/^[0-9a-f]{12}$/.test(hash)) throw new Error(`bundle hash must be 12 hex digits: ${hash}`);
  return hash;
}
