/**
 * Property-based fuzzing (fast-check) of the cluster's routes: catalog, health checks and nodes (with what an agent fetches for its node). The rules every answer must keep, and how to
 * replay a failure, are in test/helpers/api-fuzz-server.ts and test/helpers/api-fuzz-run.ts.
 */
import { fuzzRoutes } from "./helpers/api-fuzz-run.js";

fuzzRoutes("cluster");
