import type { EdgeLimits } from "./limits.js";
import type { UpstreamTuning } from "./proxy.js";
import type { RouteSnapshot } from "./source.js";

/** What the router's primary process tells a worker (a `conn` message carries the socket). */
export type ToWorker =
  | {
      type: "init";
      domain: string;
      limits: Partial<EdgeLimits>;
      challenges: boolean;
      upstream?: Partial<UpstreamTuning>;
    }
  | { type: "challenge"; id: number; keyAuth: string | undefined }
  | { type: "routes"; snapshot: RouteSnapshot }
  | { type: "conn" }
  | { type: "stop" };

/** What a worker tells the primary. */
export type FromWorker =
  | { type: "ready" }
  | { type: "log"; line: string }
  | { type: "challenge"; id: number; token: string };
