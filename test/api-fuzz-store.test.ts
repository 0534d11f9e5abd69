/**
 * Property-based fuzzing (fast-check) of the store's own routes: KV, transactions, watches, sessions, tokens and the audit log. The rules every answer must keep, and how to
 * replay a failure, are in test/helpers/api-fuzz-server.ts and test/helpers/api-fuzz-run.ts.
 */
import { fuzzRoutes } from "./helpers/api-fuzz-run.js";

fuzzRoutes("store");
