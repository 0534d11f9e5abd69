import { Header } from "tar";
import { describe, expect, it } from "vitest";
import { containerAgentArgs, DATA_DIR, nodeContainerOptions, TOKEN_FILE } from "./options.js";
import { fileArchive } from "./token-archive.js";

const base = { name: "web-2", pool: "web", instance: 2, address: "10.100.6.2" };
const image = { ref: "gantry/base:abc", gantry: ["/usr/bin/node", "/opt/g/bin/gantry"] };
const mounts = [{ source: "/opt/g", target: "/opt/g" }];

describe("node container options", () => {
  it("run the agent on the host network, bound to the loopback twin, with a token file", () => {
    const spec = { ...base, credentials: { server: "http://127.0.0.1:7700", nodeToken: "s3cret" } };
    const o = nodeContainerOptions({
      spec,
      image: { ...image, mounts },
      bind: "127.100.6.2",
      createdAt: "2026-12-07T14:00:00.000Z",
    });
    expect(o.name).toBe("gantry-node-web-2");
    expect(o.Entrypoint).toEqual(image.gantry);
    expect(o.Cmd).toEqual([
      "agent",
      "--server",
      "http://127.0.0.1:7700",
      "--node-name",
      "web-2",
      "--data-dir",
      DATA_DIR,
      "--address",
      "127.100.6.2",
      "--stop-instances",
      "--token-file",
      TOKEN_FILE,
    ]);
    expect(JSON.stringify(o)).not.toContain("s3cret");
    expect(o.Volumes).toEqual({ [DATA_DIR]: {} });
    expect(o.HostConfig).toMatchObject({
      NetworkMode: "host",
      Init: true,
      RestartPolicy: { Name: "no" },
      Mounts: [{ Type: "bind", Source: "/opt/g", Target: "/opt/g", ReadOnly: true }],
    });
    expect(o.HostConfig?.Memory).toBeUndefined();
  });

  it("pass a join token to --join, and limit memory without swap when asked", () => {
    const spec = { ...base, credentials: { server: "https://10.0.0.1:7700", joinToken: "K10x" } };
    expect(containerAgentArgs(spec, "127.100.6.2").slice(-2)).toEqual(["--join", "K10x"]);
    const o = nodeContainerOptions({
      spec,
      image: { ...image, mounts: [] },
      bind: "127.100.6.2",
      createdAt: "2026-12-07T14:00:00.000Z",
      memoryMb: 256,
    });
    expect(o.HostConfig).toMatchObject({ Memory: 256 << 20, MemorySwap: 256 << 20, Mounts: [] });
  });
});

describe("the token archive", () => {
  it("holds one root-owned 0600 file with the content, padded to whole blocks", () => {
    const tar = fileArchive(TOKEN_FILE, "s3cret\n");
    expect(tar.length % 512).toBe(0);
    const h = new Header(tar, 0);
    expect(h).toMatchObject({ path: "run/gantry/agent.token", mode: 0o600, uid: 0, gid: 0 });
    expect(h.size).toBe(7);
    expect(h.cksumValid).toBe(true);
    expect(tar.subarray(512, 519).toString()).toBe("s3cret\n");
    expect(tar.subarray(-1024).every((b) => b === 0)).toBe(true);
  });
});
