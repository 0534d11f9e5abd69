import { arch, cpus, hostname, networkInterfaces, platform, totalmem } from "node:os";
import type { NodeFacts } from "../model/node.js";

/** What a node tells the control plane about itself when it joins. */
export function gatherFacts(): NodeFacts {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal).map((a) => a.address);
  return {
    hostname: hostname(),
    cpus: cpus().length,
    memory: totalmem(),
    addresses: (external.length > 0 ? external : all.map((a) => a.address)).slice(0, 64),
    os: platform(),
    arch: arch(),
  };
}
