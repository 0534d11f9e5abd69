/**
 * DATA_DIR/etcd.pid: the pid of the etcd this data directory's server runs. A server that was
 * SIGKILLed cannot stop its etcd (on Linux it is started with a parent-death signal, so it gets
 * SIGTERM; elsewhere it is left running): the next start finds it by this file and stops it
 * before starting its own, so two etcds never share one data directory.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The command line of a live process, or undefined when there is none by that pid. */
function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is an etcd on `dataDir` (and not some process that got its pid since). */
export function isEtcdOf(pid: number, dataDir: string): boolean {
  const argv = cmdline(pid);
  return argv !== undefined && argv.includes(`--data-dir=${dataDir}`);
}

/** Stop an etcd left running on `dataDir` by a server that died (SIGTERM, SIGKILL after 10 s). */
export async function stopStaleEtcd(
  pidFile: string,
  dataDir: string,
  log: (line: string) => void,
): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (Number.isInteger(pid) && pid > 0 && isEtcdOf(pid, dataDir)) {
    log(`etcd: stopping the etcd (pid ${pid}) a previous run left on ${dataDir}`);
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) process.kill(pid, "SIGKILL");
    while (alive(pid)) await sleep(50);
  }
  removePidFile(pidFile);
}

export function writePidFile(pidFile: string, pid: number): void {
  writeFileSync(pidFile, `${pid}\n`, { mode: 0o644 });
}

export function removePidFile(pidFile: string): void {
  try {
    unlinkSync(pidFile);
  } catch {
    // gone already
  }
}
