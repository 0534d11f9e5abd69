/**
 * What `gantry converge --inventory FILE` passes to the SSH transport (src/converge/ssh/cli.ts):
 * the flags parsed by src/cli/converge.ts. Kept in its own small file so the CLI does not load
 * the SSH code unless --inventory is given.
 */
export interface InventoryRunOptions {
  inventory: string;
  statesDir: string;
  /** Only hosts with one of these roles, applying only these roles. */
  roles: string[];
  /** Apply these states (instead of each host's roles). */
  states: string[];
  check: boolean;
  diff: boolean;
  json: boolean;
  extraVars: Record<string, unknown>;
  /** Hosts at a time (default 10). */
  forks?: number;
  /** Run the runner as root through `sudo -n` on every host. */
  become?: boolean;
  /** Give up on a host after this long (ms); its run is stopped there too. */
  timeoutMs?: number;
}

/** Options for an inventory and a states dir: apply everything, human output, unless `more` says. */
export function inventoryOptions(
  inventory: string,
  statesDir: string,
  more: Partial<InventoryRunOptions> = {},
): InventoryRunOptions {
  return {
    inventory,
    statesDir,
    roles: [],
    states: [],
    check: false,
    diff: false,
    json: false,
    extraVars: {},
    ...more,
  };
}
