/**
 * The system OpenSSH client's argv for one host (pure). Options: BatchMode (never prompt),
 * the inventory's own `-o` options (ssh keeps the first value it sees, so they override the
 * defaults after them), time limits, and connection multiplexing through a control socket per
 * host in `controlDir`, so the upload and the run after a probe reuse one connection.
 */
import type { InventoryHost, SshDefaults } from "../inventory.js";

/**
 * A host that does not answer within 10 s (Ansible's default connection timeout) is unreachable,
 * instead of after the kernel's two minutes of SYN retries; one that goes silent mid-run is
 * given up after 3 keep-alives 15 s apart, instead of never.
 */
export const TIME_LIMITS = ["ConnectTimeout=10", "ServerAliveInterval=15", "ServerAliveCountMax=3"];

/** Everything before the remote command: options and the destination. */
export function sshArgs(host: InventoryHost, ssh: SshDefaults, controlDir: string): string[] {
  const args = ["-o", "BatchMode=yes"];
  for (const o of ssh.options) args.push("-o", o);
  for (const o of TIME_LIMITS) args.push("-o", o);
  args.push(
    "-o",
    "ControlMaster=auto",
    "-o",
    `ControlPath=${controlDir}/%C`,
    "-o",
    "ControlPersist=60",
  );
  if (ssh.identityFile !== undefined) args.push("-i", ssh.identityFile);
  if (host.port !== undefined) args.push("-p", String(host.port));
  if (host.user !== undefined) args.push("-l", host.user);
  args.push("--", host.address);
  return args;
}

/** argv that asks a host's master connection to exit (nothing happens when there is none). */
export function sshExitMasterArgs(
  host: InventoryHost,
  ssh: SshDefaults,
  controlDir: string,
): string[] {
  return ["-O", "exit", ...sshArgs(host, ssh, controlDir)];
}
