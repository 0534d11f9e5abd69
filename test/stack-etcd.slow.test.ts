/** The stack scenarios on `gantry server --store etcd://` and a real etcd (see the helper). */
import { stackScenarios } from "./helpers/stack-scenarios.js";

stackScenarios("etcd");
