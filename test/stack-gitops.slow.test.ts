/** GitOps for the stack on `gantry up` (the embedded store); see the helper for the scenarios. */
import { stackGitOpsScenarios } from "./helpers/stack-gitops-scenarios.js";

stackGitOpsScenarios("embedded");
