/**
 * The `ssh` node provider against the provider contract, with real sshd on loopback addresses
 * (127.100.6.1-9, one port, a HOME each) and real agents: the one-file agent is bundled from the
 * sources first (scripts/bundle-agent.mjs), copied to each host over ssh and started there
 * detached with a pid file (no systemd here). The contract's agents have a server that is away;
 * one node joins a real in-process server on 127.0.0.1.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isGantryError } from "../src/errors.js";
import { providerContract } from "../src/pools/contract.js";
import type { PoolNode } from "../src/pools/provider.js";
import { SshProvider, type SshProviderOptions } from "../src/pools/ssh/index.js";
import { startTestApi } from "./helpers/api.js";
import { runCli, spawnCli } from "./helpers/gantry.js";
import { sleep } from "./helpers/cli-processes.js";
import { freePort } from "./helpers/ports.js";
import { startSshAddresses } from "./helpers/sshd-addresses.js";
import { flagOf, createJoined, liveArgv, rejection } from "./helpers/pool-machines.js";

const addresses = Array.from({ length: 9 }, (_, i) => `127.100.6.${i + 1}`);
/** A host whose PATH has a shell and coreutils but no node. */
const NO_NODE = "127.100.6.10";
const work = mkdtempSync(join(tmpdir(), "gantry-pools-ssh-"));
const noNodeBin = join(work, "bin");
mkdirSync(noNodeBin);
for (const tool of ["sh", "cat", "mkdir", "mv", "rm", "wc"])
  symlinkSync(
    execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(),
    join(noNodeBin, tool),
  );
// Hosts 1-8 and the one without node in one sshd; host 9 in its own, which a test stops.
const ssh = await startSshAddresses([[...addresses.slice(0, 8), NO_NODE], addresses.slice(8)], {
  [NO_NODE]: { PATH: noNodeBin },
});
const bundle = join(work, "gantry-agent.mjs");
const controlDir = mkdtempSync(join(tmpdir(), "gantry-ssh-cp-"));
/** Relative: under each host's own HOME. */
const root = `pools-${process.pid}`;
const server = `http://127.0.0.1:${await freePort()}`;

beforeAll(() => {
  execFileSync(process.execPath, [resolve("scripts/bundle-agent.mjs"), "--out", bundle]);
}, 60_000);
afterAll(async () => {
  await ssh.cleanup();
  rmSync(work, { recursive: true, force: true });
  rmSync(controlDir, { recursive: true, force: true });
});

const settings = (hosts = addresses.slice(0, 8)) => ({
  user: "root",
  port: ssh.port,
  identityFile: ssh.identityFile,
  options: ssh.options,
  hosts,
});
const options: SshProviderOptions = { root, bundle, controlDir, stopGraceMs: 5000 };
const newProvider = (): SshProvider => new SshProvider(settings(), options);

const hostOf = (node: PoolNode): string => node.providerId.split(":")[0]!;
const pidOf = (node: PoolNode): number => Number(node.providerId.split(":")[1]);
const nodeDir = (node: PoolNode): string => join(ssh.home(hostOf(node)), root, node.name);

/** Run a command on a host over ssh, as an operator would. */
function onHost(host: string, command: string): string {
  const args = ["-o", "BatchMode=yes", ...ssh.options.flatMap((o) => ["-o", o])];
  args.push("-i", ssh.identityFile, "-p", String(ssh.port), `root@${host}`, command);
  return execFileSync("ssh", args, { encoding: "utf8" });
}

/** The node's agent as the host sees it: its pid runs this node's copy of the agent. */
function agentRuns(node: PoolNode): boolean {
  const argv = liveArgv(pidOf(node));
  return (
    argv !== undefined &&
    argv[1] === join(nodeDir(node), "gantry.mjs") &&
    argv[2] === "agent" &&
    flagOf(argv, "--node-name") === node.name
  );
}

providerContract({
  name: "ssh",
  newProvider,
  credentials: { server, nodeToken: "not-checked-while-the-server-is-away" },
  // kill -9 of the agent, over ssh.
  crash: (node) => {
    onHost(hostOf(node), `kill -9 ${pidOf(node)}`);
    return Promise.resolve();
  },
  machineRuns: (node) => Promise.resolve(agentRuns(node)),
  timeoutMs: 10_000,
});

describe("ssh provider: a node joins a real server", () => {
  it("installs one file and a 0600 token on its host, joins, and leaves nothing once destroyed", async () => {
    const t = await startTestApi();
    const provider = newProvider();
    const name = `joins-3`;
    try {
      const { node, secret, record } = await createJoined(t, provider, {
        name,
        pool: "joins",
        instance: 3,
        address: "10.100.6.3",
      });
      expect(hostOf(node)).toBe("127.100.6.3");
      expect(record?.name).toBe(name);
      const dir = nodeDir(node);
      expect(JSON.parse(readFileSync(join(dir, "node.json"), "utf8"))).toEqual({
        name,
        pool: "joins",
        instance: 3,
        address: "10.100.6.3",
        createdAt: node.createdAt,
      });
      expect(statSync(join(dir, "agent.token")).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(dir, "gantry.mjs"))).toEqual(readFileSync(bundle));
      // The token is in its file, never on a command line (the agent's, or ssh's).
      const argv = readFileSync(`/proc/${pidOf(node)}/cmdline`, "utf8");
      expect(argv).not.toContain(secret);
      expect(argv).toContain("10.100.6.3");
      await provider.destroy(name);
      expect(agentRuns(node)).toBe(false);
      expect(existsSync(dir)).toBe(false);
      expect(await newProvider().list("joins")).toEqual([]);
    } finally {
      await provider.destroy(name);
      await t.close();
    }
  });
});

describe("ssh provider: a node joins with a join token", () => {
  it("joins a real server over HTTPS, the join token in a 0600 file and never on a command line", async () => {
    const dataDir = mkdtempSync(join(work, "server-"));
    const host = "127.100.6.30";
    const serverProc = spawnCli(
      [
        "server",
        "--data-dir",
        dataDir,
        "--api-addr",
        `${host}:${await freePort(host)}`,
        "--no-registry",
      ],
      {},
    );
    let out = "";
    serverProc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    serverProc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const provider = newProvider();
    const name = "tls-4";
    try {
      let url: string | undefined;
      for (let i = 0; i < 400 && url === undefined; i++) {
        url = /API +(https:\/\/\S+)/.exec(out)?.[1];
        if (url === undefined) await sleep(50);
      }
      expect(url, out).toBeDefined();
      const env = {
        GANTRY_ADDR: url!,
        GANTRY_TOKEN: readFileSync(join(dataDir, "admin.token"), "utf8").trim(),
        GANTRY_CA: join(dataDir, "ca.crt"),
      };
      const made = await runCli(["join-tokens", "create", "--uses", "1", "--json"], env);
      expect(made.code, made.stderr).toBe(0);
      const joinToken = (JSON.parse(made.stdout) as { token: string }).token;
      const node = await provider.create({
        name,
        pool: "tls",
        instance: 4,
        address: "10.100.6.4",
        credentials: { server: url!, joinToken },
      });
      let joined = false;
      for (let i = 0; i < 400 && !joined; i++) {
        const r = await runCli(["nodes", "--json"], env);
        joined = (JSON.parse(r.stdout || "[]") as { name: string }[]).some((n) => n.name === name);
        if (!joined) await sleep(50);
      }
      expect(joined).toBe(true);
      const dir = nodeDir(node);
      expect(statSync(join(dir, "join.token")).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dir, "agent", "node.token"))).toBe(true);
      const argv = readFileSync(`/proc/${pidOf(node)}/cmdline`, "utf8");
      expect(argv).toContain("--join-file");
      expect(argv).not.toContain(joinToken);
    } finally {
      await provider.destroy(name);
      serverProc.kill("SIGTERM");
    }
  });
});

describe("ssh provider: hosts", () => {
  it("reports a node on a host it cannot reach as stopped, and destroys it once the host is back", async () => {
    const provider = new SshProvider(settings(addresses), options);
    const name = "far-9";
    const node = await provider.create({
      name,
      pool: "far",
      instance: 9,
      address: "10.100.6.9",
      credentials: { server, nodeToken: "unused" },
    });
    const host9 = ssh.groups[1]!;
    try {
      await host9.stop();
      expect(await provider.list("far")).toEqual([{ ...node, state: "stopped" }]);
      expect(await provider.describe(name)).toEqual({ ...node, state: "stopped" });
      const err = await rejection(provider.destroy(name));
      expect(isGantryError(err) && err.code).toBe("host_unreachable");
      await host9.start();
      // The agent ran on all along: reachable again, it is running, and destroy removes it.
      expect(await provider.describe(name)).toEqual(node);
      await provider.destroy(name);
      expect(agentRuns(node)).toBe(false);
      expect(await provider.list("far")).toEqual([]);
    } finally {
      await host9.start();
      await provider.destroy(name);
    }
  });

  it("refuses an instance the pool has no host for, leaving nothing", async () => {
    const provider = newProvider();
    const err = await rejection(
      provider.create({
        name: "none-9",
        pool: "none",
        instance: 9,
        address: "10.100.6.9",
        credentials: { server, nodeToken: "t" },
      }),
    );
    expect(isGantryError(err) && err.field).toBe("instance");
    expect(await provider.list("none")).toEqual([]);
  });

  it("names a host it cannot reach when creating, and lists nothing from one it never saw", async () => {
    // Nothing listens on 127.100.6.200.
    const provider = new SshProvider(settings(["127.100.6.200"]), options);
    const err = await rejection(provider.list("x"));
    // An unreachable host that never showed a node has none to show.
    expect(err).toBeUndefined();
    const create = await rejection(
      provider.create({
        name: "x-1",
        pool: "x",
        instance: 1,
        address: "10.0.0.1",
        credentials: { server, nodeToken: "t" },
      }),
    );
    expect(isGantryError(create) && create.code).toBe("host_unreachable");
    expect((create as Error).message).toContain("127.100.6.200");
  });

  it("says a host has no Node.js 20, naming the host", async () => {
    const provider = new SshProvider(settings([NO_NODE]), options);
    const err = await rejection(
      provider.create({
        name: "bare-1",
        pool: "bare",
        instance: 1,
        address: "10.0.0.1",
        credentials: { server, nodeToken: "t" },
      }),
    );
    expect(isGantryError(err) && err.code).toBe("host_failed");
    expect((err as Error).message).toMatch(
      /host 127\.100\.6\.10: gantry: node not found.*Node\.js ≥ 20/,
    );
  });
});
