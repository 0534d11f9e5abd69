import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBaseImage } from "../../containers/base-image.js";
import { dockerEngine } from "../../docker/engine.js";
import { driverContract } from "../contract.js";
import type { TaskSpec } from "../driver.js";
import { DockerDriver } from "./index.js";

// Needs a Docker engine (scripts/start-dockerd.sh); the base image is made on first use.
const engine = dockerEngine();
driverContract({ name: "docker", newDriver: () => new DockerDriver({ engine }) });

describe("docker driver: images and options", () => {
  const dir = mkdtempSync(join(tmpdir(), "gantry-docker-image-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const run = async (fields: Partial<TaskSpec>): Promise<{ code: number | null; out: string }> => {
    const driver = new DockerDriver({ engine });
    const logFile = join(dir, `t${++n}.log`);
    const spec: TaskSpec = { id: `img-${n}`, cwd: "/nonexistent", command: "", env: {}, logFile };
    const exit = await driver.wait(await driver.start({ ...spec, ...fields }));
    return { code: exit.exitCode, out: readFileSync(logFile, "utf8") };
  };

  it("runs an image in its own WORKDIR as nobody, without the app directory", async () => {
    const image = await ensureBaseImage(engine);
    const r = await run({ image, command: "id -u; pwd; echo $PATH" });
    expect(r).toEqual({
      code: 0,
      out: "65534\n/app\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
    });
  });

  it("runs the image's own CMD when the command is empty", async () => {
    // The base image's CMD is /bin/sh, which ends at once with no input.
    expect(await run({ image: await ensureBaseImage(engine) })).toEqual({ code: 0, out: "" });
  });

  it("gives a read-only root with a writable /tmp, and the user asked for", async () => {
    const image = await ensureBaseImage(engine);
    const r = await run({
      image,
      user: "1234:1234",
      container: { readOnly: true },
      command: "id -u; touch /tmp/ok && echo tmp ok; touch /app/x 2>/dev/null || echo root ro",
    });
    expect(r).toEqual({ code: 0, out: "1234\ntmp ok\nroot ro\n" });
  });

  it("runs an image pinned to a local image id (deployed from a node that never pushed it)", async () => {
    const base = await ensureBaseImage(engine);
    const id = (await engine.getImage(base).inspect()).Id;
    const r = await run({ image: `gantry/base@${id}`, command: "echo pinned" });
    expect(r).toEqual({ code: 0, out: "pinned\n" });
  });

  it("refuses an image that is not on the node and names no registry", async () => {
    await expect(run({ image: "gantry/no-such-image:1" })).rejects.toThrow(/not on this node/);
  });
});
