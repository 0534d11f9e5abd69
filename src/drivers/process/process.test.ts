import { driverContract } from "../contract.js";
import { ProcessDriver } from "./index.js";

driverContract({ name: "process", newDriver: () => new ProcessDriver({ pollMs: 50 }) });
