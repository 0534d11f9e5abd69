import type { Driver } from "../../drivers/driver.js";
import { DockerDriver } from "../../drivers/docker/index.js";
import { ProcessDriver } from "../../drivers/process/index.js";
import type { Assignment } from "../../model/app.js";

/**
 * The runtime drivers of one agent, by name: `process` always, `docker` made on first use (a
 * node without Docker never touches the engine until an assignment asks for runtime docker;
 * then starting says "this node has no Docker engine" in the instance's output).
 */
export class Drivers {
  private readonly process: Driver;
  private docker: Driver | undefined;
  private readonly newDocker: () => Driver;

  constructor(opts: { process?: Driver; docker?: Driver | (() => Driver) } = {}) {
    this.process = opts.process ?? new ProcessDriver();
    const d = opts.docker;
    this.newDocker = typeof d === "function" ? d : () => d ?? new DockerDriver();
  }

  /** The driver an assignment runs on. */
  for(a: Pick<Assignment, "runtime">): Driver {
    return a.runtime === "docker" ? this.named("docker")! : this.process;
  }

  /** The driver a saved handle belongs to (undefined for a name this agent does not know). */
  named(name: string): Driver | undefined {
    if (name === this.process.name) return this.process;
    if (name !== "docker") return undefined;
    this.docker ??= this.newDocker();
    return this.docker;
  }
}
