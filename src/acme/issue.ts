/**
 * The one file that talks ACME (RFC 8555), through acme-client: an account, then per app an
 * order answered by HTTP-01, a CSR for a fresh P-256 key, the certificate chain. acme-client is
 * loaded only when a directory is configured, so servers without one do not carry it.
 */
import { rootCertificates } from "node:tls";
import { Agent, request } from "node:https";

/** Where the CA is and how to reach it. */
export interface AcmeDirectory {
  url: string;
  email?: string;
  /** Extra CA certificates (PEM) trusted for the directory's HTTPS, besides the system's. */
  caPem?: string;
}

/** Where the key authorizations go while the CA checks them (the router serves them). */
export interface ChallengeStore {
  put(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface Issued {
  /** The leaf and its chain. */
  certPem: string;
  keyPem: string;
  /** The account URL, kept so the next start does not look the account up again. */
  accountUrl: string;
}

type AcmeModule = typeof import("acme-client");
/** acme-client's own settings on its axios instance (not in its types). */
interface AcmeSettings {
  retryMaxAttempts: number;
  retryDefaultDelay: number;
}
let loaded: Promise<AcmeModule> | undefined;

/**
 * acme-client with this directory's trust. Its HTTP client is one axios instance for the whole
 * process (the library offers no per-client agent), which is fine: a server has one directory.
 */
async function acmeFor(dir: AcmeDirectory): Promise<AcmeModule> {
  const acme = await (loaded ??= import("acme-client").then(
    (m) => (m as { default?: AcmeModule }).default ?? m,
  ));
  const ca = dir.caPem === undefined ? undefined : [...rootCertificates, dir.caPem];
  acme.axios.defaults.httpsAgent = new Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
  acme.axios.defaults.timeout = 30_000;
  // The controller retries with its own backoff and records each failure; the library's
  // default (5 tries, 5 s more each) would hide an unreachable directory for over a minute.
  const settings = (acme.axios.defaults as unknown as { acmeSettings: AcmeSettings }).acmeSettings;
  settings.retryMaxAttempts = 1;
  settings.retryDefaultDelay = 1;
  return acme;
}

/** A new account key (PEM). */
export async function newAccountKey(dir: AcmeDirectory): Promise<string> {
  const acme = await acmeFor(dir);
  return (await acme.crypto.createPrivateEcdsaKey("P-256")).toString();
}

/** Order, prove and download a certificate for `domains` (the first is its common name). */
export async function issueCertificate(
  dir: AcmeDirectory,
  account: { keyPem: string; url?: string },
  domains: string[],
  challenges: ChallengeStore,
): Promise<Issued> {
  const acme = await acmeFor(dir);
  await reachable(dir, acme.axios.defaults.httpsAgent as Agent);
  const client = new acme.Client({
    directoryUrl: dir.url,
    accountKey: account.keyPem,
    ...(account.url === undefined ? {} : { accountUrl: account.url }),
  });
  const [key, csr] = await acme.crypto.createCsr(
    { commonName: domains[0]!, altNames: domains },
    await acme.crypto.createPrivateEcdsaKey("P-256"),
  );
  const certPem = await client
    .auto({
      csr,
      ...(dir.email === undefined ? {} : { email: dir.email }),
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // The CA checks from where it is; the server's own view of DNS and of the router (which
      // may be on other machines) says nothing about what the CA will see.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== "http-01") throw new Error(`cannot answer ${challenge.type}`);
        await challenges.put(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await challenges.remove(challenge.token);
      },
    })
    .catch(lostCause(dir));
  return { certPem, keyPem: key.toString(), accountUrl: client.getAccountUrl() };
}

/**
 * The directory answers at all: said in one line (the address and the system's error code).
 * Needed because acme-client 5.4.0 turns a request that got no answer into a TypeError
 * ("reading 'config'") once its retries end, losing the cause.
 */
function reachable(dir: AcmeDirectory, agent: Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(dir.url, { agent, timeout: 30_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(new Error(`the ACME directory ${dir.url} answered ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot reach the ACME directory ${dir.url} (${err.code ?? err.message})`)),
    );
    req.end();
  });
}

/** acme-client's TypeError for a request without an answer, as what it means. */
function lostCause(dir: AcmeDirectory): (err: unknown) => never {
  return (err) => {
    if (err instanceof TypeError && err.message.includes("reading 'config'"))
      throw new Error(`a request to the ACME directory ${dir.url} got no answer`);
    throw err;
  };
}
