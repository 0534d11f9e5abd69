import type { ChildProcess } from "node:child_process";

// Every server process a helper starts, so a crashing test run cannot leave them behind.
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILL `child` when this process exits, unless it has exited by then. */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    });
  }
  children.add(child);
  child.once("exit", () => children.delete(child));
}
