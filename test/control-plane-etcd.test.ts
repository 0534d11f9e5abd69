/** The control-plane scenarios on `gantry server --store etcd://` and a real etcd (see the helper). */
import { controlPlaneScenarios } from "./helpers/control-plane-scenarios.js";

controlPlaneScenarios("etcd");
