/**
 * Secrets from the encrypted config store in a converge run against a real `gantry up`: a
 * template reads `secret(app, name)` through the API control plane; the file gets the value,
 * and the report, its diffs and every event say `[secret]` instead.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GantryClient } from "../src/client/client.js";
import { ApiControlPlane } from "../src/converge/control-plane.js";
import { runJob } from "../src/converge/run.js";
import type { ConvergeEvent, Job } from "../src/converge/types.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";
import { stopGantry } from "./helpers/paas.js";

const PASSWORD = "s3cr3t-Zebra-42";

let g: GantryProcess;
let out: string;

beforeAll(async () => {
  g = await startGantry();
  out = mkdtempSync(join(tmpdir(), "gantry-converge-secrets-"));
  expect((await g.cli(["apps:create", "billing"])).code).toBe(0);
  const set = await g.cli(["config:set", "billing", `DB_PASSWORD=${PASSWORD}`]);
  expect(set.code, set.stderr).toBe(0);
});

afterAll(async () => {
  await stopGantry(g);
  rmSync(out, { recursive: true, force: true });
});

describe("secrets in converge", () => {
  it("writes the config store's value and never shows it", async () => {
    const target = join(out, "db.conf");
    const job: Job = {
      files: {
        "db.yaml": `resources:
  - template: ${target}
    source: templates/db.conf.j2
    mode: "0600"
`,
        "templates/db.conf.j2": "user=billing\npassword={{ secret('billing', 'DB_PASSWORD') }}\n",
      },
      roles: [],
      states: ["db"],
      nodeVars: {},
      extraVars: {},
      labels: {},
      check: false,
      host: "node-1",
    };
    const cp = new ApiControlPlane(new GantryClient({ addr: g.url, token: g.token }), {
      node: "node-1",
    });
    const events: ConvergeEvent[] = [];
    try {
      const check = await runJob({ ...job, check: true }, { controlPlane: cp });
      expect(check.summary.changed).toBe(1);
      expect(check.resources[0]!.diff).toContain("password=[secret]");

      const report = await runJob(job, { controlPlane: cp, onEvent: (e) => events.push(e) });
      expect(report.summary).toMatchObject({ changed: 1, failed: 0 });
      expect(readFileSync(target, "utf8")).toBe(`user=billing\npassword=${PASSWORD}\n`);
      const shown = JSON.stringify({ report, events, check });
      expect(shown).toContain("[secret]");
      expect(shown).not.toContain(PASSWORD);
    } finally {
      await cp.close();
    }
  });
});
