/**
 * HTTPS through `gantry up`'s router: an app at <app>.localhost is served over TLS with a
 * certificate from the cluster CA (DATA_DIR/ca.crt), picked by SNI, routed by the same code as
 * plain HTTP; a name with no app has no certificate, so its handshake fails.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { request } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfSigned } from "./helpers/certs.js";
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

/** GET / over HTTPS with SNI `host`, trusting only `ca` (default: the cluster CA). */
function get(host: string, ca = readFileSync(join(g.dataDir, "ca.crt"), "utf8")): Promise<Answer> {
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

  it("certs:add checks and stores a certificate; the router serves it by SNI; certs:remove takes it away", async () => {
    expect((await g.cli(["apps:create", "shop"])).code).toBe(0);
    expect((await g.cli(["domains:add", "shop", "www.example.com"])).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "gantry-certs-"));
    const good = await selfSigned(["www.example.com"]);
    const other = await selfSigned(["www.example.com"]);
    const file = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const crt = file("site.crt", good.certPem);
    const key = file("site.key", good.keyPem);
    const wrongKey = file("wrong.key", other.keyPem);

    const bad = await g.cli(["certs:add", "shop", "--cert", crt, "--key", wrongKey]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(`${wrongKey} is not the key of ${crt}`);
    const uncovered = file("other.crt", (await selfSigned(["shop.example.org"])).certPem);
    const wrongName = await g.cli(["certs:add", "shop", "--cert", uncovered, "--key", key]);
    expect(wrongName.code).not.toBe(0);

    const added = await g.cli(["certs:add", "shop", "--cert", crt, "--key", key]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain("shop: certificate for www.example.com");
    const listed = await g.cli(["certs", "--json"]);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ app: "shop", domains: ["www.example.com"], source: "manual" }),
    ]);
    expect(listed.stdout).not.toContain("PRIVATE KEY");
    const shown = await g.cli(["certs", "shop"]);
    expect(shown.stdout).toMatch(/^APP\s+DOMAINS\s+ISSUER\s+EXPIRES\s+SOURCE/m);
    expect(shown.stdout).toMatch(
      /^shop\s+www\.example\.com\s+CN=www\.example\.com\s+\S+\s+manual/m,
    );
    // The key is not in the store's files in the clear.
    const stored = readdirSync(join(g.dataDir, "store")).map((f) =>
      readFileSync(join(g.dataDir, "store", f)).toString("latin1"),
    );
    expect(stored.join("")).toContain("www.example.com");
    expect(stored.some((text) => text.includes(good.keyPem.slice(40, 100)))).toBe(false);

    const res = await eventually("HTTPS for www.example.com", () =>
      get("www.example.com", good.certPem),
    );
    expect(res.status).toBe(503);
    expect(res.body).toContain("no passing instance of app shop");

    expect((await g.cli(["certs:remove", "shop"])).code).toBe(0);
    await eventually("the handshake to fail", () =>
      get("www.example.com", good.certPem).then(
        () => undefined,
        () => true,
      ),
    );
  });
});
