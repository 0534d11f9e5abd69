/** The stack scenarios on `gantry up` and its embedded store (see the helper). */
import { stackScenarios } from "./helpers/stack-scenarios.js";

stackScenarios("embedded");
