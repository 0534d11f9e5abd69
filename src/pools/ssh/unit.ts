/**
 * The systemd unit that runs a node's agent on a host that runs systemd (pure: the text only).
 * Its output is appended to the node's agent.log, as with a pid file, so `create` watches one
 * file either way; `KillMode=mixed` sends SIGTERM to the agent alone, which stops its instances
 * itself (--stop-instances), and SIGKILL to whatever is left after. `dir` is a checked path (ROOT
 * is letters, digits and `_ . / -`; a node name too), so it needs no quoting.
 */
import { systemdQuote } from "./quote.js";

/** The unit's name for node `name` (a node name is letters, digits, `_ . -`: unit-safe). */
export const unitName = (name: string): string => `gantry-agent-${name}.service`;

export function agentUnit(opts: {
  name: string;
  pool: string;
  dir: string;
  argv: string[];
}): string {
  const log = `${opts.dir}/agent.log`.replaceAll("%", "%%");
  return [
    "[Unit]",
    `Description=Gantry agent of node ${opts.name} (pool ${opts.pool})`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    `ExecStart=${opts.argv.map(systemdQuote).join(" ")}`,
    `WorkingDirectory=${opts.dir}`,
    `StandardOutput=append:${log}`,
    `StandardError=append:${log}`,
    "Restart=on-failure",
    "RestartSec=5",
    "KillMode=mixed",
    "TimeoutStopSec=30",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
