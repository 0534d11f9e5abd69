import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureClusterCa, issueCertificate, type ClusterCa } from "../tls/ca.js";
import { GantryClient } from "./client.js";
import { ConnectError } from "./errors.js";
import { trustCa } from "./transport.js";

// Real TLS servers on loopback with certificates from a real cluster CA; each failure must be
// a ConnectError whose one line says what is wrong and what to do.
let ca: ClusterCa;
const servers: Server[] = [];

async function serve(names: { dnsNames: string[]; ips: string[]; days: number }): Promise<string> {
  const leaf = await issueCertificate(ca, names);
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    if (req.url?.startsWith("/v1/stream")) {
      res.write('{"a":');
      setTimeout(() => res.end("1}"), 20);
    } else res.end('{"status":"ok","store":"test","revision":1}');
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `https://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function failure(addr: string): Promise<ConnectError> {
  const err = await new GantryClient({ addr }).health().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

beforeAll(async () => {
  ca = await ensureClusterCa(mkdtempSync(join(tmpdir(), "gantry-trust-")));
});
afterAll(() => {
  for (const s of servers) s.close();
});

describe("the client over HTTPS", () => {
  it("refuses an unknown CA with the GANTRY_CA hint, then trusts it once told", async () => {
    const addr = await serve({ dnsNames: ["localhost"], ips: ["127.0.0.1"], days: 30 });
    const err = await failure(addr);
    expect(err.code).toBe("tls_unverified");
    expect(err.message).toMatch(/not signed by a CA this client trusts: set GANTRY_CA/);
    expect(err.message).not.toContain("\n");
    trustCa(ca.certPem);
    expect((await new GantryClient({ addr }).health()).status).toBe("ok");
    // The stream path trusts the CA too (fetch would not).
    const res = await new GantryClient({ addr }).request("GET", "/v1/stream", { stream: true });
    expect(await res.json()).toEqual({ a: 1 });
  });

  it("says when the certificate is for another name", async () => {
    trustCa(ca.certPem);
    const addr = await serve({ dnsNames: ["elsewhere.example"], ips: ["10.9.9.9"], days: 30 });
    const err = await failure(addr);
    expect(err.message).toMatch(/is not for "127\.0\.0\.1"/);
  });

  it("says when the certificate has expired", async () => {
    trustCa(ca.certPem);
    const addr = await serve({ dnsNames: ["localhost"], ips: ["127.0.0.1"], days: -1 });
    const err = await failure(addr);
    expect(err.message).toMatch(/has expired/);
  });

  it("keeps the plain message for a server that is not there", async () => {
    const err = await failure("https://127.0.0.1:1");
    expect(err.code).toBe("unreachable");
  });
});
