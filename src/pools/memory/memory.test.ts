import { providerContract } from "../contract.js";
import { MemoryMachines, MemoryProvider } from "./index.js";

const machines = new MemoryMachines();

providerContract({
  name: "memory",
  newProvider: () => new MemoryProvider(machines),
  credentials: { server: "http://127.0.0.1:9", nodeToken: "unused" },
  crash: (node) => Promise.resolve(machines.crash(node.name)),
  machineRuns: (node) =>
    Promise.resolve(
      machines.nodes.get(node.name)?.providerId === node.providerId &&
        machines.nodes.get(node.name)?.state === "running",
    ),
});
