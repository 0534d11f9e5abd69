import type { AddressInfo, Socket } from "node:net";
import { createSecureContext, createServer, type SecureContext, type Server } from "node:tls";

/** A certificate (chain) and its key, served for the host names it lists. */
export interface RouterCert {
  /** Exact names (`www.example.com`) or one-label wildcards (`*.example.com`), lower case. */
  domains: string[];
  certPem: string;
  keyPem: string;
  /** Who it is for, in log lines (e.g. the app's name). */
  label?: string;
}

/**
 * Feeds the HTTPS listener: `watch` calls `onUpdate` with every certificate, first when they are
 * known and then on every change; the returned function stops it.
 */
export interface CertSource {
  watch(onUpdate: (certs: RouterCert[]) => void): () => void;
}

/** Certificates held in memory and changed by `set`: for tests and fixed certificates. */
export class StaticCertSource implements CertSource {
  private readonly listeners = new Set<(c: RouterCert[]) => void>();

  constructor(private certs: RouterCert[] = []) {}

  watch(onUpdate: (certs: RouterCert[]) => void): () => void {
    this.listeners.add(onUpdate);
    onUpdate(this.certs);
    return () => this.listeners.delete(onUpdate);
  }

  set(certs: RouterCert[]): void {
    this.certs = certs;
    for (const l of this.listeners) l(certs);
  }
}

/**
 * Host name → TLS context, rebuilt from each delivery. A certificate that does not load (its key
 * does not match, a broken PEM) is logged and its names keep the context they had: the router
 * keeps serving the last good certificate.
 */
export class SniTable {
  private contexts = new Map<string, SecureContext>();
  /** Contexts by the PEMs they were made from: an unchanged certificate is not parsed again. */
  private byPems = new Map<string, SecureContext>();

  constructor(private readonly log: (line: string) => void) {}

  set(certs: RouterCert[]): void {
    const next = new Map<string, SecureContext>();
    const byPems = new Map<string, SecureContext>();
    for (const cert of certs) {
      const pems = cert.certPem + "\n" + cert.keyPem;
      let ctx = this.byPems.get(pems) ?? byPems.get(pems);
      if (ctx === undefined) {
        try {
          ctx = createSecureContext({ cert: cert.certPem, key: cert.keyPem });
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          this.log(
            `router: the certificate for ${cert.label ?? cert.domains.join(", ")} does not load (${why}); keeping the last good one`,
          );
          for (const d of cert.domains) {
            const old = this.contexts.get(d.toLowerCase());
            if (old !== undefined) next.set(d.toLowerCase(), old);
          }
          continue;
        }
      }
      byPems.set(pems, ctx);
      for (const d of cert.domains) next.set(d.toLowerCase(), ctx);
    }
    // Contexts kept for a bad certificate's names stay cached under their PEMs.
    for (const [pems, ctx] of this.byPems)
      if (!byPems.has(pems) && [...next.values()].includes(ctx)) byPems.set(pems, ctx);
    this.contexts = next;
    this.byPems = byPems;
  }

  /** The names served, sorted: exact or `*.` wildcards, lower case (no failed certificate's). */
  names(): string[] {
    return [...this.contexts.keys()].sort();
  }

  /** The context for a name sent by SNI: the exact name, else a wildcard one label up. */
  lookup(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase().replace(/\.$/, "");
    const exact = this.contexts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf(".");
    return dot > 0 ? this.contexts.get("*" + name.slice(dot)) : undefined;
  }
}

export interface HttpsListenOptions {
  host: string;
  port: number;
  /** A port given by the user must be free; the default one, when taken, gives way to a free one. */
  explicit: boolean;
  certs: CertSource;
  /** Told the names served after each delivery of certificates (redirects go only to those). */
  onNames?: (names: string[]) => void;
}

export interface HttpsListener {
  address: AddressInfo;
  /** e.g. https://127.0.0.1:8443 */
  url: string;
  close(): Promise<void>;
}

/**
 * The router's TLS listener: SNI picks the certificate, and each decrypted connection is served
 * by `serve` — the same proxy, the same routing as plain HTTP.
 */
export async function startHttpsListener(
  opts: HttpsListenOptions,
  serve: (socket: Socket) => void,
  log: (line: string) => void,
): Promise<HttpsListener> {
  const sni = new SniTable(log);
  const unwatch = opts.certs.watch((certs) => {
    sni.set(certs);
    opts.onNames?.(sni.names());
  });
  const server = createServer({
    allowHalfOpen: true,
    SNICallback: (servername, cb) => {
      const ctx = sni.lookup(servername);
      if (ctx === undefined) cb(new Error(`no certificate for ${servername}`), undefined);
      else cb(null, ctx);
    },
  });
  // Connections still in their handshake are not the proxy's yet: closing drops them here.
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("secureConnection", (socket) => serve(socket));
  server.on("tlsClientError", () => undefined); // a failed handshake is the client's business
  try {
    await listenOnce(server, opts.host, opts.port).catch(async (err: NodeJS.ErrnoException) => {
      if (opts.explicit || err.code !== "EADDRINUSE" || opts.port === 0) throw err;
      await listenOnce(server, opts.host, 0);
      const port = (server.address() as AddressInfo).port;
      log(
        `router: ${opts.host}:${opts.port} is taken; HTTPS on port ${port} instead (choose one with --https-addr)`,
      );
    });
  } catch (err) {
    unwatch();
    throw err;
  }
  server.on("error", (err) => log(`router: ${err.message}`));
  const address = server.address() as AddressInfo;
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return {
    address,
    url: `https://${host}:${address.port}`,
    close: () => {
      unwatch();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}

function listenOnce(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off("listening", onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}
