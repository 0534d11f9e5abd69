/** GitOps for the stack on `gantry server` over a real etcd; see the helper for the scenarios. */
import { stackGitOpsScenarios } from "./helpers/stack-gitops-scenarios.js";

stackGitOpsScenarios("etcd");
