/**
 * ACME runs on the leading server only: two `gantry server`s on one etcd (sharing the data
 * directory's secret.key, as servers of one cluster do), a standalone router following the
 * second, pebble checking that router. The first server leads and issues; the second never does
 * — until the first stops, when it leads and issues the next app's certificate with the same
 * account (the sealed account key opens there too).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { startEtcd, type EtcdServer } from "./helpers/etcd.js";
import { eventually, stopGantry } from "./helpers/paas.js";
import { startPebble, type Pebble } from "./helpers/pebble.js";
import { freePort } from "./helpers/ports.js";

let work: string;
let etcd: EtcdServer;
let pebble: Pebble;
let s1: GantryProcess;
let s2: GantryProcess;
let router: ChildProcess | undefined;
let routerOut = "";

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
    throw new Error(`${e.message}\n--- s1\n${s1.output()}\n--- s2\n${s2.output()}\n${routerOut}`);
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
  const made = await s2.cli([
    "tokens",
    "create",
    "router-edge",
    "--policy",
    "app::read",
    "--policy",
    "service::read",
    "--json",
  ]);
  expect(made.code, made.stderr).toBe(0);
  const file = join(work, "router.token");
  writeFileSync(file, (JSON.parse(made.stdout) as { secret: string }).secret + "\n", {
    mode: 0o600,
  });
  router = spawnCli(
    [
      "router",
      "--server",
      s2.url,
      "--token-file",
      file,
      "--http-addr",
      `127.0.0.1:${routerPort}`,
      "--https-addr",
      `127.0.0.1:${await freePort()}`,
    ],
    { GANTRY_TOKEN: "", GANTRY_ADDR: "" },
  );
  router.stdout!.on("data", (d: Buffer) => (routerOut += d.toString()));
  router.stderr!.on("data", (d: Buffer) => (routerOut += d.toString()));
  await eventually("the router's banner", () =>
    routerOut.includes(`router on http://127.0.0.1:${routerPort}`) ? true : undefined,
  );
}, 120_000);

afterAll(async () => {
  if (router !== undefined && router.exitCode === null && router.signalCode === null) {
    const exited = new Promise((r) => router!.once("exit", r));
    router.kill("SIGTERM");
    await exited;
  }
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
