/**
 * `gantry up --router-workers N`: the router serves from N worker processes of its own (apart
 * from the control plane's event loop); a worker that dies is replaced while the router keeps
 * answering; a count that is not a whole number 0–64 is refused before anything starts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { runCli, startGantry, type GantryProcess } from "./helpers/gantry.js";
import { eventually, get, routerPort } from "./helpers/paas.js";

/** Processes whose parent is `ppid` and whose command line runs the router worker. */
function routerWorkers(ppid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (parent === ppid && /router\/worker\.[jt]s/.test(cmd)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe("gantry up --router-workers", () => {
  let g: GantryProcess | undefined;
  afterAll(async () => {
    await g?.cleanup();
  });

  it("serves from worker processes and replaces one that dies", async () => {
    g = await startGantry({ args: ["--router-workers", "2"] });
    const pid = g.pid()!;
    const port = await routerPort(g);
    const first = await eventually("two router workers", () => {
      const w = routerWorkers(pid);
      return w.length === 2 ? w : undefined;
    });
    const answer = await get(port, "nope.localhost");
    expect(answer.status).toBe(404);
    expect(answer.body).toContain("nope");

    process.kill(first[0]!, "SIGKILL");
    // Meanwhile the other worker (or the primary itself) answers.
    expect((await get(port, "nope.localhost")).status).toBe(404);
    const replaced = await eventually("a replacement worker", () => {
      const w = routerWorkers(pid);
      return w.length === 2 && !w.includes(first[0]!) ? w : undefined;
    });
    expect(replaced).toContain(first[1]);
    expect((await get(port, "nope.localhost")).status).toBe(404);
  });

  it("refuses a count that is not a whole number from 0 to 64", async () => {
    for (const bad of ["many", "65", "-1", "1.5"]) {
      const r = await runCli(["up", "--router-workers", bad, "--data-dir", "/nonexistent/x"], {});
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        `--router-workers must be a whole number from 0 to 64, got "${bad}"`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
