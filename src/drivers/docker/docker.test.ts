import { dockerEngine } from "../../docker/engine.js";
import { driverContract } from "../contract.js";
import { DockerDriver } from "./index.js";

// Needs a Docker engine (scripts/start-dockerd.sh); the base image is made on first use.
const engine = dockerEngine();
driverContract({ name: "docker", newDriver: () => new DockerDriver({ engine }) });
