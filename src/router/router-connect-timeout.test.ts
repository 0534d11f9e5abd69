import { spawn, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { send, startUpstream, type Upstream } from "../../test/helpers/upstreams.js";
import { DEFAULT_UPSTREAM } from "./proxy.js";
import { startRouter, type RunningRouter } from "./router.js";
import { StaticRouteSource } from "./source.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * An instance whose machine is gone: its address takes no connection and says nothing (a
 * listener with a full accept queue that never accepts drops further SYNs, like a dead host).
 */
async function blackHole(): Promise<number> {
  const py = spawn(
    "python3",
    [
      "-c",
      "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const child: ChildProcess = py;
  cleanups.push(() => void child.kill("SIGKILL"));
  const port = await new Promise<number>((resolve, reject) => {
    py.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    py.once("error", reject);
  });
  // One connection fills the queue: the next ones hang in SYN-SENT.
  const filler: Socket = connect(port, "127.0.0.1");
  filler.on("error", () => undefined);
  cleanups.push(() => void filler.destroy());
  await new Promise((r) => filler.once("connect", r));
  return port;
}

async function routerTo(
  ports: number[],
  upstream?: { connectTimeoutMs: number },
): Promise<RunningRouter> {
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source: new StaticRouteSource({
      apps: [
        {
          name: "ha",
          domains: [],
          instances: ports.map((port) => ({ address: "127.0.0.1", port })),
        },
      ],
    }),
    log: () => undefined,
    ...(upstream === undefined ? {} : { upstream }),
  });
  cleanups.push(() => r.close());
  return r;
}

describe("router: connect timeout", () => {
  it("is short by default: 500 ms", () => {
    expect(DEFAULT_UPSTREAM.connectTimeoutMs).toBe(500);
  });

  it("an instance that takes no connection costs at most the timeout: POSTs go to another", async () => {
    const hole = await blackHole();
    const a: Upstream = await startUpstream("a");
    cleanups.push(() => a.kill());
    const r = await routerTo([hole, a.port], { connectTimeoutMs: 300 });
    const took: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t = Date.now();
      // Not idempotent: sent again only because it never left (no connection was made).
      const res = await send(r.url, { host: "ha.localhost", method: "POST", body: `b${i}` });
      took.push(Date.now() - t);
      expect(res.status, res.body).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ name: "a", method: "POST", body: `b${i}` });
    }
    // The first one waited for the timeout, then the hole was skipped.
    expect(Math.max(...took)).toBeGreaterThanOrEqual(250);
    expect(Math.max(...took)).toBeLessThan(1500);
    expect(took.filter((ms) => ms >= 250).length).toBeLessThanOrEqual(2);
  });
});
