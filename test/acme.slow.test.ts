/**
 * Certificates by ACME against Debian's pebble: `gantry up --acme-directory` gives an app with a
 * custom domain a certificate by HTTP-01 (pebble asks gantry's router for the challenge), the
 * router serves it over HTTPS, it is renewed while a client keeps requesting (no request fails),
 * and when the directory goes away the error shows in `gantry certs` while the last good
 * certificate is served on.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { request } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, HELLO, localRepo, push, stopGantry, withToken } from "./helpers/paas.js";
import { startPebble, type Pebble } from "./helpers/pebble.js";
import { freePort } from "./helpers/ports.js";

const SITE = "shop.acme.test";
/** Pebble's certificates live a minute; renewed 54 s before the end: every ~6 s and issuance. */
const VALIDITY_S = 60;

let work: string;
let pebble: Pebble;
let g: GantryProcess;
let httpsPort: number;
let root: string;

interface Answer {
  status: number;
  serial: string;
  issuer: string;
}

/** GET / over HTTPS (a new connection) with SNI `host`, trusting only pebble's root. */
function get(host: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: httpsPort,
        servername: host,
        ca: root,
        headers: { host },
        agent: false,
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            serial: cert.serialNumber,
            issuer: cert.issuer.CN,
          }),
        );
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

interface CertRow {
  app: string;
  domains: string[];
  issuer: string;
  notAfter: string;
  fingerprint: string;
  source: string;
  lastError?: string;
  pending?: boolean;
}

async function certs(): Promise<CertRow[]> {
  const r = await g.cli(["certs", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as CertRow[];
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-acme-"));
  const httpPort = await freePort();
  httpsPort = await freePort();
  pebble = await startPebble(work, { httpPort, validitySeconds: VALIDITY_S });
  root = await pebble.root();
  g = await startGantry({
    args: [
      "--http-addr",
      `127.0.0.1:${httpPort}`,
      "--https-addr",
      `127.0.0.1:${httpsPort}`,
      "--no-registry",
      "--acme-directory",
      pebble.directory,
      "--acme-email",
      "ops@example.com",
      "--acme-ca",
      pebble.caFile,
      "--acme-renew-before",
      `${VALIDITY_S - 6}s`,
    ],
  });
  const created = await g.cli(["apps:create", "shop", "--json"]);
  expect(created.code, created.stderr).toBe(0);
  const { gitUrl } = JSON.parse(created.stdout) as { gitUrl: string };
  const pushed = await push(await localRepo(work, HELLO), withToken(gitUrl, g.token));
  expect(pushed.code, pushed.stderr).toBe(0);
  expect((await g.cli(["domains:add", "shop", SITE])).code).toBe(0);
}, 90_000);

afterAll(async () => {
  await stopGantry(g);
  await pebble?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("certificates by ACME (pebble)", () => {
  it("refuses bad ACME flags in one line naming the flag, before starting", async () => {
    for (const [args, line] of [
      [["--acme-directory", "http://127.0.0.1:1/dir"], /--acme-directory must be an https:\/\//],
      [
        ["--acme-directory", pebble.directory, "--acme-ca", "/nonexistent.pem"],
        /--acme-ca: cannot read/,
      ],
      [["--acme-email", "ops@example.com"], /--acme-email needs --acme-directory/],
    ] as const) {
      const r = await runCli(["up", "--data-dir", join(work, "unused"), ...args], {});
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(line);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("issues a certificate from the directory for the app's custom domain and serves it over HTTPS", async () => {
    const row = await eventually(
      "an ACME certificate for shop",
      async () => (await certs()).find((c) => c.app === "shop" && c.pending !== true),
      30_000,
    );
    expect(row).toMatchObject({ source: "acme", domains: [SITE] });
    expect(row.issuer).toMatch(/Pebble Intermediate CA/);
    expect(row.lastError).toBeUndefined();
    // Verified against pebble's root alone: the chain the router sends is pebble's.
    const res = await eventually("HTTPS for the site", () => get(SITE).catch(() => undefined));
    expect(res.status).toBe(200);
    expect(res.issuer).toMatch(/Pebble Intermediate CA/);
    expect(g.output()).toMatch(/acme: shop: certificate for shop\.acme\.test \(new\)/);
    expect(g.output()).toContain(`ACME     ${pebble.directory}`);
    // The keys (the certificate's and the account's) are not in the store's files in the clear.
    const stored = readdirSync(join(g.dataDir, "store"))
      .map((f) => readFileSync(join(g.dataDir, "store", f)).toString("latin1"))
      .join("");
    expect(stored).toContain(SITE);
    expect(stored).not.toMatch(/BEGIN (EC )?PRIVATE KEY/);
  }, 60_000);

  it("renews before expiry while a client requests over HTTPS every 20 ms: no request fails", async () => {
    const serials = new Set<string>();
    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 60_000;
    // New connections each time, so each sees the certificate served at that moment.
    while (Date.now() < deadline && serials.size < 3) {
      const started = Date.now();
      try {
        const res = await get(SITE);
        if (res.status === 200) ok++;
        else failures.push(`status ${res.status}`);
        serials.add(res.serial);
      } catch (err) {
        failures.push(String(err));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 20 - (Date.now() - started))));
    }
    const took = (Date.now() - (deadline - 60_000)) / 1000;
    console.log(
      `acme renewal: ${ok} HTTPS requests in ${took.toFixed(1)} s, ${failures.length} failed, ${serials.size} serials`,
    );
    expect(failures).toEqual([]);
    expect(serials.size, "the certificate was renewed (a new serial) at least twice").toBe(3);
    expect(ok).toBeGreaterThan(100);
    expect(g.output()).toMatch(/acme: shop: certificate for shop\.acme\.test \(renewal\)/);
  }, 90_000);

  it("with the directory gone: the error shows in gantry certs, the last good certificate is served on", async () => {
    await pebble.stop();
    const before = (await certs()).find((c) => c.app === "shop")!;
    // A new app never gets one: it shows as pending with its error.
    expect((await g.cli(["apps:create", "blog"])).code).toBe(0);
    expect((await g.cli(["domains:add", "blog", "blog.acme.test"])).code).toBe(0);
    const rows = await eventually(
      "the errors in gantry certs",
      async () => {
        const all = await certs();
        const shop = all.find((c) => c.app === "shop");
        const blog = all.find((c) => c.app === "blog");
        return shop?.lastError !== undefined && blog?.lastError !== undefined
          ? { shop, blog }
          : undefined;
      },
      30_000,
    );
    expect(rows.blog).toMatchObject({ pending: true, source: "acme", domains: ["blog.acme.test"] });
    expect(rows.blog.lastError).toMatch(/ECONNREFUSED/);
    expect(rows.shop.lastError).toMatch(/ECONNREFUSED/);
    // Kept: the certificate is the one from before the failure, still served.
    expect(rows.shop.fingerprint).toBe(before.fingerprint);
    const res = await get(SITE);
    expect(res.status).toBe(200);
    expect(res.issuer).toMatch(/Pebble Intermediate CA/);
    const table = await g.cli(["certs"]);
    expect(table.stdout).toMatch(/^blog\s+blog\.acme\.test\s+\(pending\)\s+acme\s+.*ECONNREFUSED/m);

    // Opted out, the app is no longer tried (nor shown); back in, it is tried again.
    const off = await g.cli(["certs:auto", "blog", "--off"]);
    expect(off.stdout).toContain("blog: certificates by ACME off");
    await eventually("blog left alone", async () => (await certs()).every((c) => c.app !== "blog"));
    expect((await g.cli(["certs:auto", "blog"])).code).toBe(0);
    await eventually("blog tried again", async () =>
      (await certs()).some((c) => c.app === "blog" && c.pending === true),
    );
    const unknown = await g.cli(["certs:auto", "nope", "--off"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/app "nope"/);
  }, 60_000);
});
