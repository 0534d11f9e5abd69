import { GantryError } from "../errors.js";

/** An error answer from the API, with the server's stable code and the field it is about. */
export class ApiError extends GantryError {
  constructor(status: number, code: string, message: string, field?: string) {
    super(code, message, field === undefined ? { status } : { status, field });
  }
}

/** The server could not be reached at all, or its certificate did not verify. */
export class ConnectError extends GantryError {
  constructor(addr: string, cause?: unknown) {
    const tls = tlsProblem(addr, cause);
    super(
      tls === undefined ? "unreachable" : "tls_unverified",
      tls ?? `cannot reach Gantry at ${addr} — is "gantry up" running?`,
      { status: 503, cause },
    );
  }
}

const UNKNOWN_CA = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
]);

/** What is wrong, in one line with what to do, when a connection failed on the server's certificate. */
export function tlsProblem(addr: string, cause: unknown): string | undefined {
  let e = cause as { code?: unknown; cause?: unknown; message?: unknown } | undefined;
  // fetch wraps the socket's error in its own.
  if (typeof e?.code !== "string" && typeof e?.cause === "object") e = e.cause as typeof e;
  const code = typeof e?.code === "string" ? e.code : "";
  const host = addr.replace(/^https?:\/\//, "").replace(/[:/].*$/, "");
  if (UNKNOWN_CA.has(code))
    return `the certificate of ${addr} is not signed by a CA this client trusts: set GANTRY_CA to the cluster's ca.crt (DATA_DIR/ca.crt on the server)`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `the certificate of ${addr} is not for "${host}": use an address it names (gantry server prints it), or restart the server with this address in --api-addr`;
  if (code === "CERT_HAS_EXPIRED")
    return `the certificate of ${addr} has expired: restart the server to issue a new one (and check this machine's clock)`;
  if (code === "CERT_NOT_YET_VALID")
    return `the certificate of ${addr} is not valid yet: check this machine's clock`;
  if (code.startsWith("CERT_") || code.startsWith("ERR_TLS_") || code.startsWith("ERR_SSL_"))
    return `the TLS connection to ${addr} failed (${code}): check GANTRY_CA and the address`;
  return undefined;
}
