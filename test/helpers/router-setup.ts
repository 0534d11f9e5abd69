/** Shared setup for the router tests (src/router/router*.test.ts): upstreams and routers stopped after each test. */
import { connect } from "node:net";
import { afterEach } from "vitest";
import { startUpstream, type Echo, type Upstream } from "./upstreams.js";
import { startRouter, type RunningRouter } from "../../src/router/router.js";
import { StaticRouteSource, type AppRoute } from "../../src/router/source.js";

export const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export async function upstreams(...names: string[]): Promise<Upstream[]> {
  const ups = await Promise.all(names.map((n) => startUpstream(n)));
  for (const u of ups) cleanups.push(() => u.kill());
  return ups;
}

export const inst = (u: Upstream) => ({ address: "127.0.0.1", port: u.port });

export async function router(
  apps: AppRoute[],
  opts: { workers?: number; log?: (line: string) => void } = {},
): Promise<{ r: RunningRouter; source: StaticRouteSource; logs: string[] }> {
  const source = new StaticRouteSource({ apps });
  const logs: string[] = [];
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source,
    log: opts.log ?? ((line) => logs.push(line)),
    ...(opts.workers === undefined ? {} : { workers: opts.workers }),
  });
  cleanups.push(() => r.close());
  return { r, source, logs };
}

export const echoOf = (body: string): Echo => JSON.parse(body) as Echo;

/** Raw bytes in, everything the router sends back until it closes (or `until` matches). */
export function raw(port: number, text: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, 5000);
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (until?.test(got)) {
        clearTimeout(timer);
        s.destroy();
        resolve(got);
      }
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on("error", reject);
    s.write(text);
  });
}
