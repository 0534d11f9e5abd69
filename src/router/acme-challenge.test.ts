import { describe, expect, it } from "vitest";
import { send } from "../../test/helpers/upstreams.js";
import { cleanups, inst, raw, upstreams, echoOf } from "../../test/helpers/router-setup.js";
import { cachedLookup } from "./acme-challenge.js";
import { startRouter } from "./router.js";
import { StaticRouteSource } from "./source.js";

const KEY_AUTH = "tok_1-A.thumbprint";

async function challengeRouter(workers: number, asked: string[]) {
  const [up] = await upstreams("app");
  const r = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source: new StaticRouteSource({
      apps: [{ name: "shop", domains: ["shop.example.com"], instances: [inst(up!)] }],
    }),
    workers,
    log: () => undefined,
    challenges: async (token) => {
      asked.push(token);
      return token === "tok_1-A" ? KEY_AUTH : undefined;
    },
  });
  cleanups.push(() => r.close());
  return r;
}

describe("router: ACME HTTP-01 challenges", () => {
  for (const workers of [0, 1]) {
    it(`answers /.well-known/acme-challenge/<token> for any host before routing (workers ${workers})`, async () => {
      const asked: string[] = [];
      const r = await challengeRouter(workers, asked);
      for (const host of ["shop.example.com", "no-such-app.example.org", ""]) {
        const res = await send(r.url, { host, path: "/.well-known/acme-challenge/tok_1-A" });
        expect(res.status, host).toBe(200);
        expect(res.body).toBe(KEY_AUTH);
      }
      // Cached: three asks, one lookup.
      expect(asked).toEqual(["tok_1-A"]);
      const unknown = await send(r.url, {
        host: "shop.example.com",
        path: "/.well-known/acme-challenge/other",
      });
      expect(unknown.status).toBe(404);
      // Other paths of the same host go to the app as before.
      const app = await send(r.url, { host: "shop.example.com", path: "/.well-known/other" });
      expect(echoOf(app.body).name).toBe("app");
    });
  }

  it("keeps pipelined requests in order behind a challenge", async () => {
    const r = await challengeRouter(0, []);
    const got = await raw(
      r.address.port,
      "GET /.well-known/acme-challenge/tok_1-A HTTP/1.1\r\nHost: shop.example.com\r\n\r\n" +
        "GET /next HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n",
    );
    const first = got.indexOf(KEY_AUTH);
    const second = got.indexOf('"url":"/next"');
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
  });
});

describe("cachedLookup", () => {
  it("keeps hits 10 s and misses half a second; a failing lookup is a miss", async () => {
    let t = 0;
    let calls = 0;
    let answer: string | undefined;
    const look = cachedLookup(
      async () => {
        calls++;
        if (answer === "boom") throw new Error("server away");
        return answer;
      },
      () => t,
    );
    expect(await look("a")).toBeUndefined();
    answer = "ka";
    expect(await look("a")).toBeUndefined();
    t = 600;
    expect(await look("a")).toBe("ka");
    answer = "boom";
    t = 9000;
    expect(await look("a")).toBe("ka");
    expect(calls).toBe(2);
    t = 20_000;
    expect(await look("a")).toBeUndefined();
  });
});
