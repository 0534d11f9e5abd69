/**
 * The `docker` node provider against the provider contract, with real containers on the real
 * engine (scripts/start-dockerd.sh) running the built agent (dist/, bind-mounted into Gantry's
 * base image: the default node image). The contract's server is away on purpose, as for
 * `local`; one test joins a real server over the host's loopback.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ensureBaseImage } from "../src/containers/base-image.js";
import { dockerEngine } from "../src/docker/engine.js";
import { isGantryError } from "../src/errors.js";
import { providerContract } from "../src/pools/contract.js";
import { DockerProvider } from "../src/pools/docker/index.js";
import { containerName, LABEL } from "../src/pools/docker/labels.js";
import { TOKEN_FILE } from "../src/pools/docker/options.js";
import { startTestApi } from "./helpers/api.js";
import { freePort } from "./helpers/ports.js";
import { createJoined, rejection } from "./helpers/pool-machines.js";

const engine = dockerEngine();
const server = `http://127.0.0.1:${await freePort()}`;
const newProvider = (): DockerProvider => new DockerProvider({ engine, stopGraceMs: 5000 });

/** The node's container as the engine sees it: running, and that node's by its labels. */
async function containerRuns(id: string, name: string): Promise<boolean> {
  try {
    const info = await engine.getContainer(id).inspect();
    return info.State.Running && info.Config.Labels[LABEL.node] === name;
  } catch {
    return false;
  }
}

/** Every container (running or not) named for `node` or labelled as it. */
async function leftovers(node: string): Promise<string[]> {
  const all = await engine.listContainers({ all: true });
  return all
    .filter((c) => c.Names.includes(`/${containerName(node)}`) || c.Labels[LABEL.node] === node)
    .map((c) => c.Id);
}

providerContract({
  name: "docker",
  newProvider,
  credentials: { server, nodeToken: "not-checked-while-the-server-is-away" },
  crash: async (node) => {
    await engine.getContainer(node.providerId).kill({ signal: "SIGKILL" });
  },
  machineRuns: (node) => containerRuns(node.providerId, node.name),
  timeoutMs: 10_000,
});

describe("docker provider: a node whose agent cannot start", () => {
  const name = `nogantry-${process.pid}`;
  afterAll(() => newProvider().destroy(name));

  it("fails with the agent's last lines and leaves no container behind", async () => {
    // The base image has node but no gantry on its PATH: the agent never runs.
    const provider = new DockerProvider({
      engine,
      nodeImage: async (e) => ({ ref: await ensureBaseImage(e), gantry: ["gantry"], mounts: [] }),
    });
    const err = await rejection(
      provider.create({
        name,
        pool: "nogantry",
        instance: 1,
        address: "10.100.9.1",
        credentials: { server, nodeToken: "unused" },
      }),
    );
    expect(isGantryError(err) && err.code).toBe("node_start_failed");
    expect((err as Error).message).toMatch(/the agent ended: .*exec gantry failed/);
    expect(await leftovers(name)).toEqual([]);
    expect(await provider.list("nogantry")).toEqual([]);
  });

  it("refuses a memory setting that is not a size", () => {
    expect(() => new DockerProvider({ engine, settings: { memory: "lots" } })).toThrow(
      /docker\.memory/,
    );
  });
});

describe("docker provider: a node joins a real server", () => {
  it("joins under its name with its node token (in a file, not in its config), on its loopback twin", async () => {
    const t = await startTestApi();
    const provider = new DockerProvider({
      engine,
      settings: { memory: "256M" },
      stopGraceMs: 5000,
    });
    const name = `joins-${process.pid}`;
    try {
      const { node, secret, record } = await createJoined(t, provider, {
        name,
        pool: "joins",
        instance: 3,
        address: "10.100.7.3",
      });
      expect(record?.name).toBe(name);
      const info = await engine.getContainer(node.providerId).inspect();
      const config = JSON.stringify({ cmd: info.Config.Cmd, env: info.Config.Env });
      expect(config).not.toContain(secret);
      expect(info.Config.Cmd).toContain("127.100.7.3");
      expect(info.Config.Cmd).toContain(TOKEN_FILE);
      expect(info.HostConfig.NetworkMode).toBe("host");
      expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
      await provider.destroy(name);
      expect(await leftovers(name)).toEqual([]);
    } finally {
      await provider.destroy(name);
      await t.close();
    }
  });
});
