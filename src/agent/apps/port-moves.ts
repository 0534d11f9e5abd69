/**
 * When an instance's port was taken by another program (issue 19): that is not a crash of the
 * app, so it moves to a new port and starts again at once, without crash backoff.
 */

/** A process that said its port was in use within this long of starting failed to bind it. */
export const BIND_WINDOW_MS = 30_000;

/**
 * Moves in a row (without the process staying up) before further exits count as crashes again:
 * something that keeps taking the ports it is given (a daemon the app itself left behind) must
 * not restart it in a tight loop.
 */
export const MAX_MOVES_IN_A_ROW = 3;

const IN_USE = /EADDRINUSE|address already in use/i;

/** Whether the output says `port` was in use (Node, Python, Ruby, Go say it in these words). */
export function saysPortInUse(lines: readonly string[], port: number): boolean {
  const named = new RegExp(`(^|[^0-9])${port}([^0-9]|$)`);
  return lines.some((line) => IN_USE.test(line) && named.test(line));
}

/**
 * Whether an exit means the port was taken: another program holds it now, or the output said
 * so about this very port soon after the start.
 */
export function portWasTaken(exit: {
  port: number;
  heldByOther: boolean;
  uptimeMs: number;
  lastLines: readonly string[];
  movesInARow: number;
}): boolean {
  if (exit.movesInARow >= MAX_MOVES_IN_A_ROW) return false;
  if (exit.heldByOther) return true;
  return exit.uptimeMs < BIND_WINDOW_MS && saysPortInUse(exit.lastLines, exit.port);
}

/** What an instance's output and the agent log say when its port moves. */
export const portMovedText = (from: number, to: number): string =>
  `port ${from} was taken by another program; moved to ${to}`;
