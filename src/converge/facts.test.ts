import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { distribution, gatherFacts } from "./facts.js";

describe("facts", () => {
  it("reads the distribution from os-release, quoted or not", () => {
    expect(
      distribution(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
      ),
    ).toEqual({ id: "debian", version: "12", codename: "bookworm" });
    expect(distribution("")).toEqual({ id: "unknown", version: "", codename: "" });
  });

  it("gathers this machine's facts, with systemd detected by /run/systemd/system", async () => {
    const root = mkdtempSync(join(tmpdir(), "gantry-facts-"));
    try {
      mkdirSync(join(root, "etc"));
      writeFileSync(
        join(root, "etc/os-release"),
        "ID=ubuntu\nVERSION_ID=24.04\nVERSION_CODENAME=noble\n",
      );
      const sysv = await gatherFacts({ roles: ["web"], labels: { zone: "a" }, root });
      expect(sysv).toMatchObject({
        os: "linux",
        distribution: { id: "ubuntu", version: "24.04", codename: "noble" },
        init: "sysv",
        roles: ["web"],
        labels: { zone: "a" },
      });
      expect(sysv.cpus).toBeGreaterThan(0);
      expect(sysv.memoryMb).toBeGreaterThan(0);
      expect(sysv.hostname).not.toBe("");
      expect(sysv.addresses.at(-1)).toMatch(/^(127\.0\.0\.1|::1)$/); // loopback last
      expect(sysv.address).toBeUndefined();
      // A pool node's labels make its plan address and pool facts of their own.
      const pooled = await gatherFacts({
        roles: [],
        labels: { pool: "web", address: "10.100.6.2" },
        root,
      });
      expect([pooled.pool, pooled.address]).toEqual(["web", "10.100.6.2"]);
      mkdirSync(join(root, "run/systemd/system"), { recursive: true });
      expect((await gatherFacts({ roles: [], labels: {}, root })).init).toBe("systemd");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
