import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient } from "./client.js";

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => res.end(JSON.stringify({ url: req.url })));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("GantryClient: the query", () => {
  it("keeps a query written in the path and adds opts.query to it", async () => {
    const c = new GantryClient({ addr: base });
    expect(await c.json("GET", "/v1/certs?app=blog")).toEqual({ url: "/v1/certs?app=blog" });
    expect(
      await c.json("GET", "/v1/certs?app=blog", { query: { index: 7, passing: true } }),
    ).toEqual({ url: "/v1/certs?app=blog&index=7&passing=" });
    expect(await c.json("GET", "/v1/kv/a", { query: { recurse: false } })).toEqual({
      url: "/v1/kv/a",
    });
  });
});
