/**
 * A bare `docker-registry` (Debian's distribution 2.8) on a free loopback port, without
 * authentication: where Dockerfile builds push in tests that do not need Gantry's own registry.
 * The engine treats 127.0.0.0/8 registries as insecure (plain HTTP) by default.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";

export interface BareRegistry {
  address: string;
  /** The digest the registry holds for `<repo>:<tag>` (undefined when it has none). */
  digest(repo: string, tag: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

export async function startBareRegistry(): Promise<BareRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "gantry-bare-registry-"));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    [
      "version: 0.1",
      "log: { level: error }",
      "storage:",
      `  filesystem: { rootdirectory: ${join(dir, "data")} }`,
      "  delete: { enabled: true }",
      `http: { addr: "${address}" }`,
      "",
    ].join("\n"),
  );
  const child = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: "ignore" });
  killOnExit(child);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`http://${address}/v2/`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`docker-registry did not answer on ${address}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    async digest(repo, tag) {
      const res = await fetch(`http://${address}/v2/${repo}/manifests/${tag}`, {
        method: "HEAD",
        headers: { accept: MANIFEST },
      });
      return res.ok ? (res.headers.get("docker-content-digest") ?? undefined) : undefined;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
