/** The control-plane scenarios on `gantry up` and its embedded store (see the helper). */
import { controlPlaneScenarios } from "./helpers/control-plane-scenarios.js";

controlPlaneScenarios("embedded");
