/**
 * Quoting for the two places a command line is unavoidable: the one string ssh hands to the
 * host's login shell, and a systemd unit's ExecStart. Gantry's remote commands are fixed scripts;
 * what varies (a root dir, a hash) goes in as positional arguments, each quoted here.
 */

/** One argument for a POSIX shell: in single quotes, a `'` as `'\''`. */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw new Error("a shell argument cannot hold a NUL byte");
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** `sh -c SCRIPT NAME ARGS…` as one command line: the script sees ARGS as $1, $2, … */
export function shellCommand(script: string, args: string[]): string {
  return ["sh", "-c", shellQuote(script), "gantry-pool", ...args.map(shellQuote)].join(" ");
}

/**
 * One argument of a systemd ExecStart: in double quotes, with `\` and `"` escaped, and `$` and
 * `%` doubled (systemd would expand variables and specifiers in them).
 */
export function systemdQuote(arg: string): string {
  if (/[\0\n\r]/.test(arg)) throw new Error("a systemd argument cannot hold a line break");
  const escaped = arg
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("$", "$$$$")
    .replaceAll("%", "%%");
  return `"${escaped}"`;
}
