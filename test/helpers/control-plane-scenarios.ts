/**
 * The control plane as users run it (issue 3, "Proof"): `gantry up` on the embedded store or
 * `gantry server --store etcd://…` on a real etcd, each a real process, driven by the CLI, by
 * client programs in their own processes and by HTTP. The same scenarios run on both backends,
 * one test file each (control-plane-embedded / control-plane-etcd) so they can run in parallel.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { GantryClient } from "../../src/client/client.js";
import { openEtcdStore } from "../../src/store/etcd/index.js";
import type { Store } from "../../src/store/types.js";
import { cliScenarios } from "./control-plane-cli-scenarios.js";
import { storeScenarios } from "./control-plane-store-scenarios.js";
import { startEtcd, type EtcdServer } from "./etcd.js";
import { startGantry, type GantryProcess, type StartOptions } from "./gantry.js";

/** The control plane under test, for the scenario groups (g, admin and direct once started). */
export interface ControlPlane {
  kind: "embedded" | "etcd";
  /** How to start another Gantry on the same store. */
  options: () => StartOptions;
  g: GantryProcess;
  admin: GantryClient;
  /** Straight to etcd, bypassing Gantry (which may be down meanwhile). */
  direct: Store | undefined;
}

/** Every scenario, on `gantry up` (embedded store) or `gantry server` on a real etcd. */
export function controlPlaneScenarios(kind: "embedded" | "etcd"): void {
  const title = kind === "etcd" ? "gantry server --store etcd://" : "gantry up (embedded store)";
  describe(title, () => {
    let etcd: EtcdServer | undefined;
    /** Straight to etcd, bypassing Gantry (which may be down meanwhile). */
    let direct: Store | undefined;
    let g: GantryProcess;
    let admin: GantryClient;

    const options = (): StartOptions =>
      kind === "etcd"
        ? {
            mode: "server",
            store: `etcd://${etcd!.endpoints.map((u) => u.replace(/^http:\/\//, "")).join(",")}`,
          }
        : {};
    const cp = { kind, options } as ControlPlane;

    beforeAll(async () => {
      if (kind === "etcd") {
        etcd = await startEtcd();
        direct = await openEtcdStore({ endpoints: etcd.endpoints });
      }
      g = await startGantry(options());
      admin = new GantryClient({ addr: g.url, token: g.token });
      Object.assign(cp, { g, admin, direct });
    });

    afterAll(async () => {
      await g?.cleanup();
      await direct?.close();
      await etcd?.cleanup();
    });

    // Their beforeAll hooks run after the one above, once the server is up.
    storeScenarios(cp);
    cliScenarios(cp);
  });
}
