/**
 * Debian's pebble (Let's Encrypt's ACME test server) on loopback, with pebble-challtestsrv as its
 * DNS: every name resolves to 127.0.0.1, so HTTP-01 checks reach the router on `httpPort`. The
 * directory is served over HTTPS with a certificate from a CA made here (`caFile`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { ensureClusterCa, issueCertificate } from "../../src/tls/ca.js";
import { killOnExit } from "./children.js";
import { freePort } from "./ports.js";

export interface Pebble {
  /** https://127.0.0.1:PORT/dir */
  directory: string;
  /** The CA of the directory's HTTPS certificate (for --acme-ca). */
  caFile: string;
  caPem: string;
  /** Pebble's root, from its management endpoint: what its certificates chain to. */
  root(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** Start pebble (certificates valid `validitySeconds`) checking HTTP-01 on `httpPort`. */
export async function startPebble(
  dir: string,
  opts: { httpPort: number; validitySeconds: number },
): Promise<Pebble> {
  mkdirSync(join(dir, "ca"), { recursive: true });
  const ca = await ensureClusterCa(join(dir, "ca"));
  const leaf = await issueCertificate(ca, { dnsNames: ["localhost"], ips: ["127.0.0.1"], days: 2 });
  const caFile = join(dir, "directory-ca.pem");
  writeFileSync(caFile, ca.certPem);
  writeFileSync(join(dir, "pebble.crt"), leaf.certPem);
  writeFileSync(join(dir, "pebble.key"), leaf.keyPem);
  const [acmePort, mgmtPort, dnsPort, dnsMgmtPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: join(dir, "pebble.crt"),
        privateKey: join(dir, "pebble.key"),
        httpPort: opts.httpPort,
        tlsPort: await freePort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        certificateValidityPeriod: opts.validitySeconds,
      },
    }),
  );
  let out = "";
  const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const c = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    killOnExit(c);
    c.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    c.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    return c;
  };
  // Only its DNS: A queries answer 127.0.0.1, AAAA nothing (the router listens on IPv4).
  const dns = run("pebble-challtestsrv", [
    "-dns01",
    `127.0.0.1:${dnsPort}`,
    "-http01",
    "",
    "-https01",
    "",
    "-tlsalpn01",
    "",
    "-management",
    `127.0.0.1:${dnsMgmtPort}`,
    "-defaultIPv6",
    "",
  ]);
  const pebble = run(
    "pebble",
    ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`],
    // No artificial sleeps in validation, no nonces refused on purpose: fast and deterministic.
    { PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
  );
  const get = (url: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(url, { ca: ca.certPem, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`)),
        );
      });
      req.on("error", reject);
      req.end();
    });
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await get(directory);
      break;
    } catch (err) {
      if (Date.now() > deadline || pebble.exitCode !== null)
        throw new Error(`pebble did not start: ${String(err)}\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stopOne = (c: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    });
  return {
    directory,
    caFile,
    caPem: ca.certPem,
    root: () => get(`https://127.0.0.1:${mgmtPort}/roots/0`),
    output: () => out,
    stop: async () => void (await Promise.all([stopOne(pebble), stopOne(dns)])),
  };
}
