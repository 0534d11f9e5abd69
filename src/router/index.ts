import { availableParallelism } from "node:os";

export { startRouter, type RouterOptions, type RunningRouter } from "./router.js";
export {
  StaticRouteSource,
  type RouteSource,
  type RouteSnapshot,
  type AppRoute,
} from "./source.js";

/**
 * How many router workers `gantry up` runs. Measured on 2 CPUs (bench/paas-router.ts), serving in
 * the primary is faster: the router shares the CPUs with the apps, and an extra process costs
 * more in scheduling than it gains. With more CPUs, one worker per CPU (at most 8), like nginx's
 * `worker_processes auto`, so the router is not bound to one core. `gantry up --router-workers N`
 * overrides it (docs/router.md: a worker also keeps routing out of the control plane's loop).
 */
export function defaultRouterWorkers(): number {
  const cpus = availableParallelism();
  return cpus <= 2 ? 0 : Math.min(cpus, 8);
}
