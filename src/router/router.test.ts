import { Agent } from "node:http";
import { describe, expect, it } from "vitest";
import { send } from "../../test/helpers/upstreams.js";
import { cleanups, upstreams, inst, router, echoOf } from "../../test/helpers/router-setup.js";

describe("router: routing", () => {
  it("routes by Host (any case, any port) and by custom domain", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r } = await router([
      { name: "hello", domains: ["www.example.com"], instances: [inst(a!)] },
      { name: "other", domains: [], instances: [inst(b!)] },
    ]);
    for (const host of ["hello.localhost", "Hello.LocalHost:8080", "www.example.com"]) {
      const res = await send(r.url, { host, path: "/x?y=1" });
      expect(res.status, host).toBe(200);
      expect(echoOf(res.body)).toMatchObject({ name: "a", url: "/x?y=1" });
    }
    expect(echoOf((await send(r.url, { host: "other.localhost" })).body).name).toBe("b");
  });

  it("answers 404 for an unknown app or host and 503 without a passing instance", async () => {
    const { r } = await router([{ name: "empty", domains: [], instances: [] }]);
    const noApp = await send(r.url, { host: "nope.localhost" });
    expect(noApp.status).toBe(404);
    expect(noApp.headers["content-type"]).toMatch(/^text\/plain/);
    expect(noApp.body).toContain("no app named nope");
    const noHost = await send(r.url, { host: "example.org", headers: { accept: "text/html" } });
    expect(noHost.status).toBe(404);
    expect(noHost.headers["content-type"]).toMatch(/^text\/html/);
    expect(noHost.body).toContain("<h1>404 no app for host example.org</h1>");
    const empty = await send(r.url, { host: "empty.localhost", headers: { accept: "text/html" } });
    expect(empty.status).toBe(503);
    expect(empty.body).toContain("no passing instance of app empty");
    expect(empty.headers["x-request-id"]).toBeTruthy();
  });

  it("goes round-robin over the instances and keeps connections to them alive", async () => {
    const ups = await upstreams("a", "b", "c");
    const { r } = await router([{ name: "rr", domains: [], instances: ups.map(inst) }]);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const served: string[] = [];
    for (let i = 0; i < 30; i++)
      served.push(echoOf((await send(r.url, { host: "rr.localhost", agent })).body).name);
    expect(served.slice(0, 6)).toEqual(["a", "b", "c", "a", "b", "c"]);
    expect(ups.map((u) => u.requests)).toEqual([10, 10, 10]);
    // Sequential requests reuse one pooled connection per instance.
    expect(ups.map((u) => u.connections)).toEqual([1, 1, 1]);
  });

  it("applies a new table at once", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r, source } = await router([{ name: "app", domains: [], instances: [inst(a!)] }]);
    expect(echoOf((await send(r.url, { host: "app.localhost" })).body).name).toBe("a");
    source.set({ apps: [{ name: "app", domains: ["app.example.com"], instances: [inst(b!)] }] });
    expect(echoOf((await send(r.url, { host: "app.localhost" })).body).name).toBe("b");
    expect(echoOf((await send(r.url, { host: "app.example.com" })).body).name).toBe("b");
    source.set({ apps: [] });
    expect((await send(r.url, { host: "app.localhost" })).status).toBe(404);
  });

  it("serves from worker processes, which follow the table too", async () => {
    const [a, b] = await upstreams("a", "b");
    const { r, source } = await router([{ name: "w", domains: [], instances: [inst(a!)] }], {
      workers: 2,
    });
    const names = await Promise.all(
      Array.from(
        { length: 10 },
        async () => echoOf((await send(r.url, { host: "w.localhost" })).body).name,
      ),
    );
    expect(names).toEqual(Array(10).fill("a"));
    source.set({ apps: [{ name: "w", domains: [], instances: [inst(b!)] }] });
    const deadline = Date.now() + 1000;
    let last = "";
    while (Date.now() < deadline) {
      const all = await Promise.all(
        Array.from(
          { length: 4 },
          async () => echoOf((await send(r.url, { host: "w.localhost" })).body).name,
        ),
      );
      last = all.join(",");
      if (last === "b,b,b,b") break;
    }
    expect(last).toBe("b,b,b,b");
  });
});
