/**
 * The service catalog as users run it: `gantry up` as a real process (its local agent runs the
 * checks), real services started here, registered with `gantry services register -f`, observed
 * through `gantry services NAME --json` and raw HTTP.
 */
import { createServer, type Server } from "node:http";
import {
  createServer as createTcpServer,
  type AddressInfo,
  type Server as TcpServer,
} from "node:net";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InstanceView } from "../src/model/service.js";
import { freePort } from "./helpers/ports.js";
import { startGantry, type GantryProcess } from "./helpers/gantry.js";

let g: GantryProcess;
let dir: string;
let web: Server;
let webPort: number;
let db: TcpServer;
let dbPort: number;
/** The exec check passes while this file exists; its name would mean something to a shell. */
let flag: string;

beforeAll(async () => {
  g = await startGantry();
  dir = mkdtempSync(join(tmpdir(), "gantry-catalog-test-"));
  flag = join(dir, "ok $HOME; rm -rf x.flag");
  writeFileSync(flag, "");
  web = createServer((req, res) => res.writeHead(req.url === "/health" ? 200 : 404).end("ok"));
  await new Promise<void>((r) => web.listen(0, "127.0.0.1", r));
  webPort = (web.address() as AddressInfo).port;
  db = createTcpServer((s) => s.end());
  await new Promise<void>((r) => db.listen(0, "127.0.0.1", r));
  dbPort = (db.address() as AddressInfo).port;
});

afterAll(async () => {
  web?.closeAllConnections();
  web?.close();
  db?.close();
  await g?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}\n${g.output()}`);
}

/** `gantry services NAME --json` through the CLI. */
async function cliInstances(name: string, ...flags: string[]): Promise<InstanceView[]> {
  const res = await g.cli(["services", name, "--json", ...flags]);
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as InstanceView[];
}

/** GET an API path with the admin token. */
async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(g.url + path, {
    ...init,
    headers: { authorization: `Bearer ${g.token}` },
  });
  if (!res.ok)
    throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const status = async (name: string, id: string): Promise<string | undefined> =>
  (await api<InstanceView[]>(`/v1/catalog/service/${name}`)).find((i) => i.id === id)?.status;

async function register(file: string, body: unknown): Promise<string> {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(body, null, 2));
  const res = await g.cli(["services", "register", "-f", path]);
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return res.stdout;
}

describe("gantry services with the local agent", () => {
  it("prints the local node when it starts", async () => {
    // The API answers before the banner is printed: the agent joins in between.
    await eventually("the banner", async () =>
      /agent {4}node \S+/.test(g.output()) ? true : undefined,
    );
    expect(g.output()).toMatch(/agent: node \S+ joined/);
  });

  it("runs an http check: passing while served; critical and out of ?passing once killed", async () => {
    const out = await register("web.json", {
      service: "web",
      id: "web-1",
      address: "127.0.0.1",
      port: webPort,
      tags: ["v1"],
      checks: [{ type: "http", path: "/health", interval: "200ms", timeout: "150ms" }],
    });
    expect(out).toMatch(/registered web\/web-1 on \S+ at 127\.0\.0\.1:\d+; checks: http \(http\)/);

    const up = await eventually("web passing", async () => {
      const list = await cliInstances("web");
      return list[0]?.status === "passing" ? list[0] : undefined;
    });
    expect(up.checks[0]).toMatchObject({ id: "http", type: "http", status: "passing" });
    expect(up.checks[0]?.output).toMatch(/200 OK/);
    expect((await cliInstances("web", "--passing")).map((i) => i.id)).toEqual(["web-1"]);
    const table = await g.cli(["services"]);
    expect(table.stdout).toMatch(/^web\s+1\s+1\s+v1$/m);

    web.closeAllConnections();
    await new Promise((r) => web.close(r));
    const killedAt = Date.now();
    await eventually("web critical", async () =>
      (await status("web", "web-1")) === "critical" ? true : undefined,
    );
    expect(Date.now() - killedAt).toBeLessThan(6000);
    const down = await cliInstances("web");
    expect(down[0]?.checks[0]?.output).toMatch(/ECONNREFUSED/);
    expect(await cliInstances("web", "--passing")).toEqual([]);
    expect(await api(`/v1/catalog/service/web?passing`)).toEqual([]);
    const human = await g.cli(["services", "web"]);
    expect(human.stdout).toMatch(/web-1\s+127\.0\.0\.1:\d+\s+\S+\s+critical/);
  });

  it("runs tcp and exec (argv) checks from one file", async () => {
    await register("more.json", [
      {
        service: "db",
        address: "127.0.0.1",
        port: dbPort,
        checks: [{ type: "tcp", interval: "200ms" }],
      },
      {
        service: "worker",
        address: "127.0.0.1",
        port: 1,
        checks: [
          {
            type: "exec",
            command: [
              process.execPath,
              "-e",
              "process.exit(require('fs').existsSync(process.argv[1]) ? 0 : 2)",
              flag,
            ],
            interval: "200ms",
            timeout: "5s",
          },
        ],
      },
    ]);
    await eventually("db and worker passing", async () =>
      (await status("db", "db")) === "passing" && (await status("worker", "worker")) === "passing"
        ? true
        : undefined,
    );
    // Passing proves the file name reached the command verbatim: a shell would have split it.
    db.close();
    unlinkSync(flag);
    await eventually("db and worker critical", async () =>
      (await status("db", "db")) === "critical" && (await status("worker", "worker")) === "critical"
        ? true
        : undefined,
    );
    const worker = await cliInstances("worker");
    expect(worker[0]?.checks[0]?.output).toMatch(/exit status 2/);
  });

  it("keeps a TTL check passing while it is refreshed through the API, critical when not", async () => {
    await register("cron.json", {
      service: "cron",
      address: "127.0.0.1",
      port: 1,
      checks: [{ type: "ttl", id: "beat", ttl: "2s" }],
    });
    for (let i = 0; i < 6; i++) {
      await api("/v1/checks/cron/cron/beat/pass", {
        method: "PUT",
        body: JSON.stringify({ note: "still here" }),
      });
      expect(await status("cron", "cron")).toBe("passing");
      await sleep(500);
    }
    const stoppedAt = Date.now();
    await eventually("cron critical", async () =>
      (await status("cron", "cron")) === "critical" ? true : undefined,
    );
    expect(Date.now() - stoppedAt).toBeGreaterThan(1000);
    const view = await cliInstances("cron");
    expect(view[0]?.checks[0]).toMatchObject({ id: "beat", status: "critical" });
    expect(view[0]?.checks[0]?.output).toMatch(/TTL/);
  });

  it("removes an instance that stays critical longer than its deregisterAfter", async () => {
    const port = await freePort();
    await register("doomed.json", {
      service: "doomed",
      address: "127.0.0.1",
      port,
      checks: [{ type: "tcp", interval: "200ms", deregisterAfter: "2s" }],
    });
    const registeredAt = Date.now();
    expect(await status("doomed", "doomed")).toBeDefined();
    await eventually("doomed deregistered", async () =>
      (await cliInstances("doomed")).length === 0 ? true : undefined,
    );
    expect(Date.now() - registeredAt).toBeGreaterThan(2000);
    const audit = await g.cli(["audit", "--json"]);
    const entries = JSON.parse(audit.stdout) as { action: string; target: string; token: string }[];
    expect(entries).toContainEqual(
      expect.objectContaining({ action: "service.deregister", target: "doomed/doomed" }),
    );
  });

  it("refuses a bad file naming the field, registering nothing from it", async () => {
    const path = join(dir, "bad.json");
    writeFileSync(
      path,
      JSON.stringify([
        { service: "fine", address: "127.0.0.1", port: 1 },
        {
          service: "bad",
          address: "127.0.0.1",
          port: 1,
          checks: [{ type: "exec", command: "ls" }],
        },
      ]),
    );
    const res = await g.cli(["services", "register", "-f", path]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/\[1\]\.checks\.0\.command/);
    expect(res.stderr).toMatch(/argv/);
    expect(await cliInstances("fine")).toEqual([]);
  });

  it("deregisters through the CLI", async () => {
    const res = await g.cli(["services", "deregister", "web", "web-1"]);
    expect(res).toMatchObject({ code: 0, stdout: "deregistered web/web-1\n" });
    expect(await cliInstances("web")).toEqual([]);
    const again = await g.cli(["services", "deregister", "web", "web-1"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not found/);
  });
});
