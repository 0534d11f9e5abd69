import { startRouter, type RunningRouter } from "../../src/router/router.js";
import { StaticRouteSource } from "../../src/router/source.js";
import { startRecordingUpstream, type RecordingUpstream } from "./recording-upstream.js";

/** The real router in front of a recording upstream as app "app": the smuggling and fuzz suites' world. */
export async function startRecordingRouter(): Promise<{
  up: RecordingUpstream;
  r: RunningRouter;
  close(): Promise<void>;
}> {
  const up = await startRecordingUpstream();
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source: new StaticRouteSource({
      apps: [{ name: "app", domains: [], instances: [{ address: "127.0.0.1", port: up.port }] }],
    }),
    log: () => undefined,
  });
  return {
    up,
    r,
    close: async () => {
      await r.close();
      await up.close();
    },
  };
}
