import { hostname } from "node:os";
import { trustCa } from "../client/transport.js";
import { ensureClusterCa, type ClusterCa } from "../tls/ca.js";
import { apiCertNames, ensureServerCertificate } from "../tls/server-cert.js";

/** The API's TLS: the cluster CA and the server certificate it issued. */
export interface ApiTls {
  ca: ClusterCa;
  certPem: string;
  keyPem: string;
}

/** Whether the API listens only where plain HTTP stays on this machine (127.0.0.1, ::1, localhost). */
export function plainByDefault(host: string): boolean {
  return ["127.0.0.1", "::1", "localhost"].includes(host.toLowerCase());
}

/**
 * The cluster CA and the API's certificate when it serves HTTPS (`tls`, else beyond
 * 127.0.0.1); undefined for plain HTTP. This process's own clients (the local agent, router,
 * GitOps) then trust the CA.
 */
export async function apiTls(
  dataDir: string,
  host: string,
  tls: boolean | undefined,
): Promise<ApiTls | undefined> {
  if (!(tls ?? !plainByDefault(host))) return undefined;
  const ca = await ensureClusterCa(dataDir);
  const cert = await ensureServerCertificate(dataDir, ca, apiCertNames(host, hostname()));
  trustCa(ca.certPem);
  return { ca, ...cert };
}
