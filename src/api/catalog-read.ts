// Until catalog-registrations.ts and checks.ts import it from catalog/ (another engineer's
// changes are in progress in them).
export { parseInstance } from "../catalog/read.js";
