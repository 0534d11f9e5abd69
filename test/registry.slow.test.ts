/**
 * Gantry's registry with the real parts (issue 12): where it runs, docker login/push/pull with
 * Gantry tokens, the token endpoint's answers, `gantry images`, a taken port, `gantry up`'s
 * registry, and a restart when it dies. Retention and GC: registry-retention.slow.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ImageView } from "../src/model/image-view.js";
import { startServer } from "../src/server/server.js";
import { runCli, startGantry } from "./helpers/gantry.js";
import { freePort } from "./helpers/ports.js";
import { registryWorld } from "./helpers/registry-world.js";

const w = registryWorld();
const { docker, api, tokenWith, makeImage, login, push, waitRunning, until, putRelease } = w;

describe("Gantry's registry", () => {
  const pushed: string[] = [];

  it("answers where it is, to a token holder only", async () => {
    const info = await api<{ address: string; running: boolean }>("GET", "/v1/registry");
    expect(info.body).toEqual({ address: w.registry, running: true });
    expect((await fetch(`${w.server.url}/v1/registry`)).status).toBe(401);
  });

  it("takes docker login with a Gantry token, refuses a bad password", async () => {
    const bad = await login("someone", "gty_not-a-token");
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/unauthorized|401/i);
    const reader = await tokenWith("web-reader", [
      { resource: "app", prefix: "web", access: "read" },
    ]);
    const ok = await login("whoever", reader);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/Login Succeeded/);
  }, 60_000);

  it("refuses a push with a read-only token (the registry itself answers)", async () => {
    const ref = await makeImage("refused", "web");
    const got = await docker(["push", ref]);
    expect(got.code).not.toBe(0);
    expect(got.out).toMatch(/denied|unauthorized|authentication required/i);
  }, 60_000);

  it("pushes with an apps-write token", async () => {
    const writer = await tokenWith("web-ci", [{ resource: "app", prefix: "web", access: "write" }]);
    expect((await login("ci", writer)).code).toBe(0);
    for (const name of ["b1", "b2", "b3"]) pushed.push(await push(await makeImage(name, "web")));
    // One from outside Gantry: no gantry.app label.
    pushed.push(await push(await makeImage("outside")));
    expect(new Set(pushed).size).toBe(4);
  }, 120_000);

  it("lets a node token pull, not push", async () => {
    const node = await tokenWith("agent-n1", [{ resource: "node", prefix: "n1", access: "write" }]);
    expect((await login("n1", node)).code).toBe(0);
    const ref = `${w.registry}/web@${pushed[0]}`;
    const got = await docker(["pull", ref]);
    expect(got.code, got.out).toBe(0);
    w.localImages.push(ref);
    const denied = await docker(["push", `${w.registry}/web:b1`]);
    expect(denied.code).not.toBe(0);
  }, 60_000);

  it("gives a token without rights empty access; bad or no credentials get 401", async () => {
    const kv = await tokenWith("kv-only", [{ resource: "kv", prefix: "", access: "write" }]);
    const basic = (p: string): string => `Basic ${Buffer.from(`x:${p}`).toString("base64")}`;
    const q = `service=gantry-registry&scope=repository:web:pull,push`;
    const res = await fetch(`${w.server.url}/v1/registry/token?${q}`, {
      headers: { authorization: basic(kv) },
    });
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
      access: unknown;
    };
    expect(claims.access).toEqual([{ type: "repository", name: "web", actions: [] }]);
    const bad = await fetch(`${w.server.url}/v1/registry/token?${q}`, {
      headers: { authorization: basic("wrong") },
    });
    expect(bad.status).toBe(401);
    expect((await fetch(`${w.server.url}/v1/registry/token?${q}`)).status).toBe(401);
  });

  it("lists the images with sizes and the releases using them (gantry images --json)", async () => {
    const created = await api("POST", "/v1/apps", { name: "web" });
    expect(created.status).toBe(201);
    // Releases v1..v3 run b1..b3, as Dockerfile builds record them.
    for (let v = 1; v <= 3; v++) await putRelease(v, pushed[v - 1]!);
    const env = { GANTRY_ADDR: w.server.url, GANTRY_TOKEN: w.server.adminToken };
    const res = await runCli(["images", "web", "--json"], env);
    expect(res.code, res.stderr).toBe(0);
    const list = JSON.parse(res.stdout) as ImageView[];
    expect(list.map((i) => i.digest).sort()).toEqual([...pushed].sort());
    const b2 = list.find((i) => i.digest === pushed[1])!;
    expect(b2).toMatchObject({ repository: "web", tags: ["b2"], gantry: true, releases: [2] });
    expect(list.find((i) => i.digest === pushed[3])).toMatchObject({
      gantry: false,
      releases: [],
    });
    // The size is the layer's as stored: a one-file tar compresses to a few hundred bytes.
    expect(b2.size).toBeGreaterThan(50);
    expect(b2.size).toBeLessThan(5000);
    const table = await runCli(["images"], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/web\s+b2\s+[0-9a-f]{12}\s+\d+ B\s+v2/);
  }, 60_000);

  it("a taken port: the chosen one is an error naming the flag, the default gives way", async () => {
    const taken = Number(w.registry.split(":")[1]);
    const dir = mkdtempSync(join(tmpdir(), "gantry-registry-port-"));
    const opts = { dataDir: dir, apiHost: "127.0.0.1", log: (l: string) => lines.push(l) };
    const lines: string[] = [];
    await expect(
      startServer({
        ...opts,
        apiPort: await freePort(),
        registry: { host: "127.0.0.1", port: taken, explicit: true },
      }),
    ).rejects.toThrow(/already in use.*--registry-addr/);
    const other = await startServer({
      ...opts,
      apiPort: await freePort(),
      registry: { host: "127.0.0.1", port: taken, explicit: false },
    });
    try {
      expect(other.registry!.address).not.toBe(w.registry);
      expect(lines.join("\n")).toContain(`registry: ${w.registry} is taken; using port`);
    } finally {
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  it("gantry up runs it: the banner and GET /v1/registry name it; --no-registry turns it off", async () => {
    const port = await freePort();
    const up = await startGantry({ args: ["--registry-addr", `127.0.0.1:${port}`] });
    try {
      await until(() => /registry 127\.0\.0\.1:\d+/.test(up.output()));
      expect(up.output()).toContain(`registry 127.0.0.1:${port}`);
      const info = await fetch(`${up.url}/v1/registry`, {
        headers: { authorization: `Bearer ${up.token}` },
      });
      expect(((await info.json()) as { address: string }).address).toBe(`127.0.0.1:${port}`);
    } finally {
      await up.cleanup();
    }
    const off = await startGantry({ args: ["--no-registry"] });
    try {
      await until(() => off.output().includes("Ctrl-C to stop"));
      expect(off.output()).not.toMatch(/registry/);
      const info = await fetch(`${off.url}/v1/registry`, {
        headers: { authorization: `Bearer ${off.token}` },
      });
      expect(await info.json()).toEqual({ address: null, running: false });
    } finally {
      await off.cleanup();
    }
  }, 60_000);

  it("restarts the registry when it dies", async () => {
    const reg = w.server.registry!;
    const pid = reg.pid!;
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 200 && (reg.pid === pid || !reg.running); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(reg.pid).not.toBe(pid);
    await waitRunning();
  }, 30_000);
});
