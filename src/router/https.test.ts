import { request } from "node:https";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { selfSigned, type TestCert } from "../../test/helpers/certs.js";
import { startUpstream, type Echo } from "../../test/helpers/upstreams.js";
import { StaticCertSource } from "./https.js";
import { startRouter, type RunningRouter } from "./router.js";
import { StaticRouteSource } from "./source.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Answer {
  status: number;
  body: string;
  peerCert: string;
}

/** GET over HTTPS to the router's port, sending `servername` by SNI and trusting only `ca`. */
function get(port: number, servername: string, ca: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, servername, ca, path: "/p", headers: { host: servername } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            peerCert: res.socket
              ? (res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256
              : "",
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function setup(certs: { domains: string[]; cert: TestCert }[], logs: string[] = []) {
  const up = await startUpstream("a");
  cleanups.push(() => up.kill());
  const source = new StaticRouteSource({
    apps: [
      {
        name: "hello",
        domains: ["www.example.com"],
        instances: [{ address: "127.0.0.1", port: up.port }],
      },
    ],
  });
  const certSource = new StaticCertSource(
    certs.map((c) => ({ domains: c.domains, certPem: c.cert.certPem, keyPem: c.cert.keyPem })),
  );
  const r: RunningRouter = await startRouter({
    listen: { host: "127.0.0.1", port: 0 },
    source,
    log: (line) => logs.push(line),
    https: { host: "127.0.0.1", port: 0, explicit: true, certs: certSource },
  });
  cleanups.push(() => r.close());
  return { r, certSource, port: r.https!.address.port };
}

describe("router HTTPS", () => {
  it("picks the certificate by SNI and proxies like HTTP, with X-Forwarded-Proto: https", async () => {
    const app = await selfSigned(["hello.localhost"]);
    const www = await selfSigned(["www.example.com"]);
    const { r, port } = await setup([
      { domains: ["hello.localhost"], cert: app },
      { domains: ["www.example.com"], cert: www },
    ]);
    expect(r.https!.url).toBe(`https://127.0.0.1:${port}`);
    for (const [name, cert] of [
      ["hello.localhost", app],
      ["www.example.com", www],
    ] as const) {
      const res = await get(port, name, cert.certPem);
      expect(res.status, name).toBe(200);
      const echo = JSON.parse(res.body) as Echo;
      expect(echo.headers["x-forwarded-proto"]).toBe("https");
      expect(echo.headers["x-forwarded-host"]).toBe(name);
    }
    // The other certificate does not verify for this name: SNI chose the right one.
    await expect(get(port, "hello.localhost", www.certPem)).rejects.toThrow();
  });

  it("refuses the handshake for a name it has no certificate for", async () => {
    const app = await selfSigned(["hello.localhost"]);
    const { port } = await setup([{ domains: ["hello.localhost"], cert: app }]);
    await expect(get(port, "other.localhost", app.certPem)).rejects.toThrow();
  });

  it("keeps serving the last good certificate when a new one's key does not match", async () => {
    const good = await selfSigned(["hello.localhost"]);
    const other = await selfSigned(["hello.localhost"]);
    const logs: string[] = [];
    const { certSource, port } = await setup([{ domains: ["hello.localhost"], cert: good }], logs);
    certSource.set([
      { domains: ["hello.localhost"], certPem: other.certPem, keyPem: good.keyPem, label: "hello" },
    ]);
    expect(logs.join("\n")).toMatch(
      /certificate for hello does not load .*keeping the last good one/,
    );
    expect((await get(port, "hello.localhost", good.certPem)).status).toBe(200);
  });

  it("takes a free port when the default one is taken, and says so", async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", () => res()));
    cleanups.push(() => new Promise<void>((res) => blocker.close(() => res())));
    const taken = (blocker.address() as import("node:net").AddressInfo).port;
    const logs: string[] = [];
    const r = await startRouter({
      listen: { host: "127.0.0.1", port: 0 },
      source: new StaticRouteSource(),
      log: (line) => logs.push(line),
      https: { host: "127.0.0.1", port: taken, explicit: false, certs: new StaticCertSource() },
    });
    cleanups.push(() => r.close());
    expect(r.https!.address.port).not.toBe(taken);
    expect(logs).toEqual([
      `router: 127.0.0.1:${taken} is taken; HTTPS on port ${r.https!.address.port} instead (choose one with --https-addr)`,
    ]);
    await expect(
      startRouter({
        listen: { host: "127.0.0.1", port: 0 },
        source: new StaticRouteSource(),
        https: { host: "127.0.0.1", port: taken, explicit: true, certs: new StaticCertSource() },
      }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
