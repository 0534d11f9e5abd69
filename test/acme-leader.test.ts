/**
 * ACME runs on the leading server only: two `gantry server`s on one etcd (sharing the data
 * directory's secret.key, as servers of one cluster do), a standalone router following the
 * second, pebble checking that router. The first server leads and issues; the second never does
 * — until the first stops, when it leads and issues the next app's certificate with the same
 * account (the sealed account key opens there too).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { eventually, stopGantry } from "./helpers/paas.js";
import { startPebble, type Pebble } from "./helpers/pebble.js";
import { startEdgeRouter, type EdgeRouter } from "./helpers/edge-router.js";
import { freePort } from "./helpers/ports.js";

let work: string;
let etcd: EtcdServer;
let pebble: Pebble;
let s1: GantryProcess;
let s2: GantryProcess;
let router: EdgeRouter | undefined;

const issued = (g: GantryProcess, app: string): boolean =>
  new RegExp(`acme: ${app}: certificate for`).test(g.output());

async function acmeCert(g: GantryProcess, app: string): Promise<{ issuer: string }> {
  return eventually(
    `an ACME certificate for ${app}`,
    async () => {
      const r = await g.cli(["certs", app, "--json"]);
      const rows = JSON.parse(r.stdout) as { issuer: string; pending?: boolean }[];
      return rows.find((c) => c.pending !== true && c.issuer !== "");
    },
    45_000,
  ).catch((e: Error) => {
    throw new Error(
      `${e.message}\n--- s1\n${s1.output()}\n--- s2\n${s2.output()}\n${router?.output() ?? ""}`,
    );
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-acme-lead-"));
  etcd = await startEtcd();
  const store = `etcd://${etcd.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`;
  const routerPort = await freePort();
  pebble = await startPebble(work, { httpPort: routerPort, validitySeconds: 3600 });
  const dataDir = join(work, "data");
  const args = ["--no-registry", "--acme-directory", pebble.directory, "--acme-ca", pebble.caFile];
  // The first server started leads: it is alone when it starts.
  s1 = await startGantry({ mode: "server", store, dataDir, args });
  s2 = await startGantry({ mode: "server", store, dataDir, args });
  router = await startEdgeRouter(s2, work, routerPort);
}, 120_000);

afterAll(async () => {
  await router?.stop();
  await stopGantry(s2);
  await stopGantry(s1);
  await pebble?.stop();
  await etcd?.cleanup();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("ACME on the leading server only", () => {
  it("the leader issues, the other server does not; after the leader stops, the other issues", async () => {
    expect((await s2.cli(["apps:create", "shop"])).code).toBe(0);
    expect((await s2.cli(["domains:add", "shop", "shop.lead.test"])).code).toBe(0);
    expect((await acmeCert(s2, "shop")).issuer).toMatch(/Pebble Intermediate CA/);
    expect(issued(s1, "shop")).toBe(true);
    expect(issued(s2, "shop")).toBe(false);

    await s1.stop();
    expect((await s2.cli(["apps:create", "blog"])).code).toBe(0);
    expect((await s2.cli(["domains:add", "blog", "blog.lead.test"])).code).toBe(0);
    expect((await acmeCert(s2, "blog")).issuer).toMatch(/Pebble Intermediate CA/);
    expect(issued(s2, "blog")).toBe(true);
    // The same account: no second one was made at the CA.
    expect(pebble.output().match(/POST \/sign-me-up/g) ?? []).toHaveLength(1);
  }, 90_000);
});
