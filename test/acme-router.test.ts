/**
 * ACME HTTP-01 answered by a standalone `gantry router`: pebble checks the challenge on the port
 * only that router listens on (gantry up's own router is elsewhere), so the certificate is
 * issued only if the router on its own fetches the key authorization from the server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get, stopGantry } from "./helpers/paas.js";
import { startPebble, type Pebble } from "./helpers/pebble.js";
import { startEdgeRouter, type EdgeRouter } from "./helpers/edge-router.js";
import { freePort } from "./helpers/ports.js";

let work: string;
let pebble: Pebble;
let g: GantryProcess;
let router: EdgeRouter | undefined;
let edgePort: number;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gantry-acme-edge-"));
  edgePort = await freePort();
  pebble = await startPebble(work, { httpPort: edgePort, validitySeconds: 3600 });
  g = await startGantry({
    args: ["--no-registry", "--acme-directory", pebble.directory, "--acme-ca", pebble.caFile],
  });
  router = await startEdgeRouter(g, work, edgePort);
}, 90_000);

afterAll(async () => {
  await router?.stop();
  await stopGantry(g);
  await pebble?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("ACME through a standalone gantry router", () => {
  it("gets the app its certificate: pebble's HTTP-01 check is answered by the router on its own", async () => {
    expect((await g.cli(["apps:create", "shop"])).code).toBe(0);
    expect((await g.cli(["domains:add", "shop", "edge.acme.test"])).code).toBe(0);
    const rows = await eventually(
      "an ACME certificate for shop",
      async () => {
        const r = await g.cli(["certs", "shop", "--json"]);
        const all = JSON.parse(r.stdout) as { issuer: string; pending?: boolean }[];
        return all.find((c) => c.pending !== true && c.issuer !== "") ?? undefined;
      },
      45_000,
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${g.output()}\n${router?.output() ?? ""}`);
    });
    expect(rows.issuer).toMatch(/Pebble Intermediate CA/);
    // An unknown token: the router's 404, not an app's page.
    const unknown = await get(edgePort, "edge.acme.test", "/.well-known/acme-challenge/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toBe("no such ACME challenge\n");
  }, 60_000);
});
