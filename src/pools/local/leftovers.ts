import { join } from "node:path";
import { loadState } from "../../agent/apps/state.js";
import { ProcessDriver } from "../../drivers/process/index.js";

/**
 * Stop the instances a dead agent left running (a node killed with SIGKILL: its instances live
 * on in their own process groups). They are the ones its state.json names, each proven by the
 * process driver's own mark (GANTRY_INSTANCE_ID) before it is stopped. Returns how many ran.
 * Docker instances of a `local` node are not handled yet (docs/pools.md, Known gaps).
 */
export async function stopLeftInstances(
  agentDir: string,
  nodeName: string,
  graceMs: number,
  log: (line: string) => void,
): Promise<number> {
  const state = loadState(join(agentDir, "state.json"), nodeName, log);
  const driver = new ProcessDriver();
  let stopped = 0;
  for (const { handle } of state.instances) {
    if (handle?.driver !== "process" || !(await driver.recover(handle))) continue;
    await driver.stop(handle, graceMs);
    stopped++;
  }
  return stopped;
}
