/**
 * The `exec` node provider against the provider contract, with a real script as its commands
 * (test/fixtures/exec-pool.mjs, whose machines are real `gantry agent` processes from the built
 * dist/), and what it does with commands that fail, hang or print nonsense.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isGantryError } from "../src/errors.js";
import { providerContract } from "../src/pools/contract.js";
import { ExecProvider } from "../src/pools/exec/index.js";
import type { NodeSpec } from "../src/pools/provider.js";
import { freePort } from "./helpers/ports.js";
import { flagOf, liveArgv } from "./helpers/pool-machines.js";

const FIXTURE = resolve(import.meta.dirname, "fixtures/exec-pool.mjs");
const node = process.execPath;
const root = mkdtempSync(join(tmpdir(), "gantry-pools-exec-"));
const server = `http://127.0.0.1:${await freePort()}`;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const commands = (dir: string) => ({
  create: [node, FIXTURE, "create", dir],
  destroy: [node, FIXTURE, "destroy", dir],
  list: [node, FIXTURE, "list", dir],
  timeout: "1m",
});
const newProvider = (): ExecProvider => new ExecProvider(commands(join(root, "cloud")));

/** The machine's agent as the host sees it: its pid runs `gantry agent` for that node. */
function agentRuns(providerId: string, name: string): boolean {
  const argv = liveArgv(providerId.replace(/^pid-/, ""));
  return argv !== undefined && argv.includes("agent") && flagOf(argv, "--node-name") === name;
}

providerContract({
  name: "exec",
  newProvider,
  credentials: { server, nodeToken: "not-checked-while-the-server-is-away" },
  crash: (n) => {
    process.kill(Number(n.providerId.replace(/^pid-/, "")), "SIGKILL");
    return Promise.resolve();
  },
  machineRuns: (n) => Promise.resolve(agentRuns(n.providerId, n.name)),
  timeoutMs: 10_000,
});

const spec = (name: string, credentials: NodeSpec["credentials"]): NodeSpec => ({
  name,
  pool: name.replace(/-\d+$/, ""),
  instance: Number(/\d+$/.exec(name)![0]),
  address: "10.100.6.7",
  credentials,
});

/** A one-line node script as a command (a real process): `node -e CODE`. */
const script = (code: string): string[] => [node, "-e", code];

/** The error `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error("expected a rejection");
    },
    (err: Error) => err,
  );
}

describe("exec provider: secrets", () => {
  it("hands the token to the create command on stdin only, never in argv or the environment", async () => {
    const dir = join(root, "secrets");
    const secret = `node-token-${process.pid}-${Date.now()}`;
    const provider = new ExecProvider(commands(dir));
    const name = "sec-3";
    process.env["GANTRY_TOKEN"] = "the-servers-own-token";
    try {
      await provider.create(spec(name, { server, nodeToken: secret }));
      await provider.destroy(name);
    } finally {
      delete process.env["GANTRY_TOKEN"];
    }
    const calls = readFileSync(join(dir, ".calls.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { argv: string[]; env: Record<string, string>; stdin: string });
    const creates = calls.filter((c) => c.argv[2] === "create");
    expect(creates).toHaveLength(1);
    expect(JSON.parse(creates[0]!.stdin)).toMatchObject({
      name,
      pool: "sec",
      instance: 3,
      address: "10.100.6.7",
      server,
      nodeToken: secret,
    });
    for (const c of calls) {
      expect(JSON.stringify(c.argv)).not.toContain(secret);
      expect(JSON.stringify(c.env)).not.toContain(secret);
      expect(Object.keys(c.env).filter((k) => k.startsWith("GANTRY_"))).toEqual([]);
    }
    expect(calls.map((c) => c.argv[2])).toContain("destroy");
  });
});

describe("exec provider: commands that fail", () => {
  const empty = script("process.stdout.write('[]')");
  const recordDestroy = (file: string): string[] =>
    script(
      `let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{require("fs").appendFileSync(${JSON.stringify(file)},s);console.log("{}")})`,
    );

  it("reports a create that exits non-zero with its stderr, and destroys what it may have left", async () => {
    const record = join(root, "destroyed-after-exit.json");
    const provider = new ExecProvider({
      create: script(
        "process.stderr.write('booting…\\nquota exceeded for instances\\n'); process.exit(3)",
      ),
      destroy: recordDestroy(record),
      list: empty,
    });
    const err = await failure(provider.create(spec("q-1", { server, nodeToken: "t" })));
    expect(isGantryError(err) && err.code).toBe("exec_failed");
    expect(err.message).toContain("the exec create command");
    expect(err.message).toContain("exited with code 3");
    expect(err.message).toContain("quota exceeded for instances");
    expect(JSON.parse(readFileSync(record, "utf8"))).toEqual({ name: "q-1", pool: "q" });
  });

  it("stops a command that runs past its timeout, with what it said", async () => {
    const started = Date.now();
    const provider = new ExecProvider(
      {
        create: empty,
        destroy: empty,
        list: script("console.error('waiting for the API'); setInterval(() => {}, 1000)"),
        timeout: "500ms",
      },
      { killGraceMs: 500 },
    );
    const err = await failure(provider.list("slow"));
    expect(isGantryError(err) && err.code).toBe("exec_timeout");
    expect(err.message).toMatch(/the exec list command \(.*\) did not finish within/);
    expect(err.message).toContain("waiting for the API");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("kills what a timed-out command started, too (its process group)", async () => {
    const pidFile = join(root, "grandchild.pid");
    const provider = new ExecProvider(
      {
        create: empty,
        destroy: empty,
        list: script(
          `const c=require("child_process").spawn("sleep",["30"],{stdio:"ignore"});require("fs").writeFileSync(${JSON.stringify(pidFile)},String(c.pid));setInterval(()=>{},1000)`,
        ),
        timeout: "1s",
      },
      { killGraceMs: 200 },
    );
    await failure(provider.list("slow"));
    const pid = Number(readFileSync(pidFile, "utf8"));
    const deadline = Date.now() + 3000;
    while (existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z"))
      if (Date.now() > deadline) throw new Error(`sleep ${pid} still runs`);
      else await new Promise((r) => setTimeout(r, 20));
  });

  it.each([
    ["not JSON", "console.log('Server created')", /printed "Server created", not JSON/, "output"],
    [
      "a wrong field",
      "console.log(JSON.stringify({providerId: 42}))",
      /output\.providerId/,
      "output.providerId",
    ],
  ])(
    "refuses a create that prints %s, naming the command and the field",
    async (_, code, message, field) => {
      const record = join(root, `destroyed-${field}.json`);
      const provider = new ExecProvider({
        create: script(code),
        destroy: recordDestroy(record),
        list: empty,
      });
      const err = await failure(provider.create(spec("bad-1", { server, joinToken: "j" })));
      expect(isGantryError(err) && err.code).toBe("exec_bad_output");
      expect(isGantryError(err) && err.field).toBe(field);
      expect(err.message).toContain("the exec create command");
      expect(err.message).toMatch(message);
      expect(existsSync(record)).toBe(true);
    },
  );

  it("refuses a list entry with a bad state, naming its index and field", async () => {
    const entry = {
      name: "l-1",
      instance: 1,
      address: "10.0.0.1",
      providerId: "i-1",
      createdAt: new Date().toISOString(),
    };
    const provider = new ExecProvider({
      create: empty,
      destroy: empty,
      list: script(
        `console.log(JSON.stringify([${JSON.stringify({ ...entry, state: "running" })}, ${JSON.stringify({ ...entry, name: "l-2", state: "pending" })}]))`,
      ),
    });
    const err = await failure(provider.list("l"));
    expect(isGantryError(err) && err.field).toBe("output.1.state");
    expect(err.message).toContain("the exec list command");
  });

  it("says so when destroy exits 0 but list still shows the machine", async () => {
    const entry = {
      name: "d-1",
      instance: 1,
      address: "10.0.0.1",
      state: "running",
      providerId: "i-1",
      createdAt: new Date().toISOString(),
    };
    const provider = new ExecProvider({
      create: empty,
      destroy: script("console.log('{}')"),
      list: script(`console.log(JSON.stringify([${JSON.stringify(entry)}]))`),
    });
    const err = await failure(provider.destroy("d-1"));
    expect(err.message).toContain("list still shows d-1");
  });

  it("refuses a command that is not there, and a name that does not name its pool", async () => {
    const missing = new ExecProvider({
      create: ["/nonexistent/cloud"],
      destroy: empty,
      list: ["/nonexistent/cloud"],
    });
    const err = await failure(missing.list("p"));
    expect(err.message).toContain("the exec list command (/nonexistent/cloud) is not there");
    const wrong = await failure(
      missing.create({ ...spec("p-1", { server, nodeToken: "t" }), pool: "q" }),
    );
    expect(isGantryError(wrong) && wrong.field).toBe("name");
  });

  it("refuses settings that are not an exec pool's, naming the field", () => {
    expect(() => new ExecProvider({ create: [], destroy: ["x"], list: ["x"] })).toThrow(
      /exec\.create/,
    );
    expect(
      () => new ExecProvider({ create: ["x"], destroy: ["x"], list: ["x"], timeout: "soon" }),
    ).toThrow(/exec\.timeout/);
  });
});
