import type { RunOptions, Runner } from "./run.js";

/** What an init system says about one service. */
export interface ServiceStatus {
  running: boolean;
  enabled: boolean;
  /** Set when `enabled` cannot be switched off (a systemd static unit): why. */
  fixedEnabled?: string;
}

/** Start, stop, enable and disable one service: systemd or sysv init scripts. */
export interface InitSystem {
  /** Throws a ResourceFailed when there is no such service. */
  status(name: string): Promise<ServiceStatus>;
  start(name: string): Promise<void>;
  stop(name: string): Promise<void>;
  enable(name: string): Promise<void>;
  disable(name: string): Promise<void>;
}

/** How an init system runs its commands: the runner plus the resource's signal and redaction. */
export interface InitDeps {
  runner: Runner;
  opts: RunOptions;
}
