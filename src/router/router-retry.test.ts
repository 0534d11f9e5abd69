import { Agent } from "node:http";
import { describe, expect, it } from "vitest";
import { send } from "../../test/helpers/upstreams.js";
import { freePort } from "../../test/helpers/ports.js";
import { cleanups, upstreams, inst, router, echoOf } from "../../test/helpers/router-setup.js";

describe("router: retries", () => {
  it("retries on the other instance when one is killed: no request fails", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r } = await router([{ name: "ha", domains: [], instances: [inst(a!), inst(b!)] }]);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(() => agent.destroy());
    let ok = 0;
    const failures: string[] = [];
    let killing = false;
    let killed = false;
    const servedAfterKill = new Set<string>();
    const loop = async (): Promise<void> => {
      while (ok + failures.length < 1500) {
        const after = killed;
        try {
          const res = await send(r.url, { host: "ha.localhost", agent });
          if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
          else {
            ok++;
            if (after) servedAfterKill.add(echoOf(res.body).name);
          }
        } catch (err) {
          failures.push(String(err));
        }
        if (ok >= 300 && !killing) {
          killing = true;
          await a!.kill(); // while the other loops keep sending
          killed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    expect(failures).toEqual([]);
    expect(killed).toBe(true);
    expect(a!.requests).toBeGreaterThan(50);
    expect([...servedAfterKill]).toEqual(["b"]);
  });

  it("answers 502 when no instance can be reached", async () => {
    const dead = [await freePort(), await freePort()];
    const { r, logs } = await router([
      {
        name: "gone",
        domains: [],
        instances: dead.map((port) => ({ address: "127.0.0.1", port })),
      },
    ]);
    const res = await send(r.url, { host: "gone.localhost" });
    expect(res.status).toBe(502);
    expect(res.body).toContain("app gone did not answer");
    expect(logs.join("\n")).toMatch(/failed after 2 attempt/);
  });

  it("sends a request body again when an instance refused the connection", async () => {
    const [a] = await upstreams("a");
    const dead = await freePort();
    const { r } = await router([
      {
        name: "post",
        domains: [],
        instances: [{ address: "127.0.0.1", port: dead }, inst(a!)],
      },
    ]);
    for (let i = 0; i < 4; i++) {
      const res = await send(r.url, { host: "post.localhost", method: "POST", body: `body ${i}` });
      expect(res.status).toBe(200);
      expect(echoOf(res.body)).toMatchObject({ name: "a", method: "POST", body: `body ${i}` });
    }
  });
});
