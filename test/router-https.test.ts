/**
 * HTTPS through `gantry up`'s router: an app at <app>.localhost is served over TLS with a
 * certificate from the cluster CA (DATA_DIR/ca.crt), picked by SNI, routed by the same code as
 * plain HTTP; a name with no app has no certificate, so its handshake fails.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, stopGantry } from "./helpers/paas.js";
import { freePort } from "./helpers/ports.js";

let g: GantryProcess;
let httpsPort: number;

beforeAll(async () => {
  httpsPort = await freePort();
  g = await startGantry({ args: ["--https-addr", `127.0.0.1:${httpsPort}`] });
}, 60_000);
afterAll(() => stopGantry(g));

interface Answer {
  status: number;
  body: string;
  issuer: string;
}

/** GET / over HTTPS with SNI `host`, trusting only the cluster CA. */
function get(host: string): Promise<Answer> {
  const ca = readFileSync(join(g.dataDir, "ca.crt"), "utf8");
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: httpsPort, servername: host, ca, headers: { host }, agent: false },
      (res) => {
        const issuer = (res.socket as TLSSocket).getPeerCertificate().issuer?.CN ?? "";
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, issuer }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("router HTTPS in gantry up", () => {
  it("prints the HTTPS address", async () => {
    // The API answers a moment before the banner is printed.
    const line = new RegExp(`https\\s+https://127\\.0\\.0\\.1:${httpsPort}`);
    await eventually("the https line", () => line.test(g.output()));
  });

  it("serves <app>.localhost with a cluster-CA certificate, routed like HTTP", async () => {
    const created = await g.cli(["apps:create", "hello"]);
    expect(created.code, created.stderr).toBe(0);
    // The certificate is issued once the router's table has the app.
    const res = await eventually("an HTTPS answer for hello.localhost", async () =>
      get("hello.localhost").catch(() => undefined),
    );
    expect(res.issuer).toMatch(/^Gantry cluster CA /);
    expect(res.status).toBe(503);
    expect(res.body).toContain("no passing instance of app hello");
  });

  it("has no certificate for a name without an app: the handshake fails", async () => {
    await expect(get("nope.localhost")).rejects.toThrow();
  });
});
