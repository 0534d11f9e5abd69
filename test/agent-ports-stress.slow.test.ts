/**
 * Issue 19's proof for instance ports: 200 instance starts on one agent while short-lived TCP
 * connections churn the kernel's ephemeral ports → no bind failure, no crash restart.
 *
 * Ports picked by listening on port 0 (as the agent did before) come from the ephemeral range;
 * once the connections' TIME_WAIT ports fill its even half, connect() takes odd ones too, and an
 * app then finds its port taken. The agent's own range (20000-32000) lies outside it.
 *
 * The load goes to loopback only, in a network namespace the test makes (root; unshare): the
 * server, the agent, its instances and the churn share its TCP stack, and nothing leaves it.
 * The churn connects to ::1 with net.ipv4.tcp_tw_reuse=0 set in that namespace only (the host's
 * value is checked unchanged). With the default (2) loopback TIME_WAIT ports are reused, so
 * connect() never runs out of even ports and never takes the odd ones listen(0) picks; with 0
 * it does, as towards any other host. Ports in TIME_WAIT on ::1 look free to a bind on
 * 127.0.0.1, yet an app binding every address cannot have them: the old picker handed those out.
 * To see the test catch it: GANTRY_STRESS_OLD_PICKER=1 npx vitest run <this file>.
 */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_PORT_RANGE } from "../src/agent/apps/port-range.js";
import { netnsOf, netSysctl, spawnInNetns } from "./helpers/netns.js";
import type { StressResult } from "./helpers/ports-stress-world.js";

const STARTS = 200;
const BATCH = 20;
const ROOT = resolve(import.meta.dirname, "..");

/** Run the world in a namespace of its own and return what it measured. */
async function runWorld(oldPicker: boolean): Promise<StressResult> {
  const child = spawnInNetns(
    [
      process.execPath,
      "--import",
      "tsx",
      "test/helpers/ports-stress-world.ts",
      JSON.stringify({ starts: STARTS, batch: BATCH, oldPicker }),
    ],
    { cwd: ROOT, sysctls: { "net.ipv4.tcp_tw_reuse": "0" } },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined)
    throw new Error(
      `the stress world exited ${code} without a result (its error is above; a network namespace needs root and unshare)`,
    );
  return JSON.parse(line.slice("RESULT ".length)) as StressResult;
}

describe("200 instance starts under ephemeral port churn", () => {
  it("no bind failure, no crash restart", { timeout: 300_000 }, async () => {
    const hostTwReuse = netSysctl("net.ipv4.tcp_tw_reuse");
    const r = await runWorld(process.env["GANTRY_STRESS_OLD_PICKER"] === "1");
    console.log(
      `${r.started} starts in ${r.secs.toFixed(1)} s under ${r.churn.conns} loopback connections ` +
        `(${r.churn.odd} from odd source ports, ${r.churn.errors} refused a source port); ` +
        `${r.problems.length} problems, ${r.exits.length} exits or port moves`,
    );

    // The churn ran in a namespace of its own, with TIME_WAIT reuse off there only.
    expect(r.netns).not.toBe(netnsOf());
    expect(r.twReuse).toBe("0");
    expect(netSysctl("net.ipv4.tcp_tw_reuse")).toBe(hostTwReuse);
    // It spilled into the odd ports listen(0) hands out.
    expect(r.churn.conns).toBeGreaterThan(10_000);
    expect(r.churn.odd).toBeGreaterThan(0);

    expect(r.problems).toEqual([]);
    expect(r.exits).toEqual([]);
    expect(r.started).toBe(STARTS);
    expect(r.ports).toHaveLength(STARTS);
    expect(
      r.ports.every((p) => p >= DEFAULT_PORT_RANGE.first && p <= DEFAULT_PORT_RANGE.last),
    ).toBe(true);
  });
});
