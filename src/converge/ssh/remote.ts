/**
 * The two remote commands, as fixed POSIX sh scripts: the only variable part is the runner's
 * content hash (hex, computed here), so no inventory or state value ever reaches a remote shell.
 * Each is wrapped in `sh -c '…'` because ssh hands the command to the user's login shell.
 */

/** The runner exits 0 (converged) or 2 (something failed); these say why it did not start. */
export const EXIT_NO_NODE = 97;
export const EXIT_NO_RUNNER = 98;
/** The upload's bytes did not all arrive (nothing was kept). */
export const EXIT_SHORT_UPLOAD = 96;
/** What ssh itself exits with when it cannot connect or authenticate. */
export const EXIT_SSH = 255;

/** The runner's path on a host, relative to $HOME. */
export function runnerPath(hash: string): string {
  return `.cache/gantry/runner-${checkHash(hash)}.mjs`;
}

/**
 * Check Node (≥ 20) and the cached runner, then run it with the Job on stdin: one round trip
 * when the runner is there. `become` runs it as root through `sudo -n` (never prompts). The
 * runner holds on to stdin as its lifeline (runner-main.ts): when it ends, the run stops.
 */
export function runCommand(hash: string, become: boolean): string {
  const script = [
    'n=$(command -v node) || { echo "gantry: node not found" >&2; exit 97; }',
    'v=$("$n" -v 2>/dev/null)',
    'case "$v" in v[2-9][0-9].*|v[1-9][0-9][0-9]*) ;; *) echo "gantry: node $v is too old" >&2; exit 97;; esac',
    `r="$HOME/${runnerPath(hash)}"`,
    'test -f "$r" || exit 98',
    become ? 'exec sudo -n "$n" "$r" --lifeline' : 'exec "$n" "$r" --lifeline',
  ].join("\n");
  return `sh -c '${script}'`;
}

/**
 * Write stdin to the runner's path atomically (a temp file, then rename) — only when all `size`
 * bytes arrived: a connection cut mid-upload ends `cat` as if the file were complete, and a
 * partial runner cached under the full one's hash would break every later run. Then remove other
 * runners (and temp files of interrupted uploads) not touched for two days: what older Gantry
 * versions left. Recent ones stay, so a controller of another version converging this host now
 * keeps its runner (and one that finds its runner gone uploads it again).
 */
export function uploadCommand(hash: string, size: number): string {
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad runner size: ${size}`);
  const script = [
    `f="$HOME/${runnerPath(hash)}"`,
    'mkdir -p "${f%/*}"',
    't="$f.$$.tmp"',
    'cat > "$t"',
    `{ n=$(wc -c < "$t") && [ $n -eq ${size} ] || { rm -f "$t"; echo "gantry: the upload was cut short" >&2; exit ${EXIT_SHORT_UPLOAD}; }; }`,
    'mv -f "$t" "$f"',
    `{ find "\${f%/*}" -type f -name "runner-*" ! -name "runner-${checkHash(hash)}.mjs" -mtime +1 -exec rm -f {} + 2>/dev/null || true; }`,
  ].join(" && ");
  return `sh -c '${script}'`;
}

function checkHash(hash: string): string {
  if (!/^[0-9a-f]{12}$/.test(hash)) throw new Error(`runner hash must be 12 hex digits: ${hash}`);
  return hash;
}
