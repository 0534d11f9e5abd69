/**
 * A manifest HEAD against a Docker registry (distribution's HTTP API v2), with its token
 * authentication: a 401 names a Bearer realm, which gives a token for the scope against the
 * handle's credentials (Basic); a registry without authentication answers at once.
 */
import type { RegistryHandle } from "../build/docker-build.js";
import { HttpError } from "../errors.js";

const ACCEPT = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(" ");
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/([a-zA-Z_]+)="([^"]*)"/g))
    params[m[1]!] = m[2]!;
  return { scheme, params };
}

const unreachable = (address: string, why: string): HttpError =>
  new HttpError(502, "registry_unavailable", `Gantry's registry at ${address} ${why}`);

/** The digest of `path`'s manifest `reference` (a tag or digest); undefined when there is none. */
export async function registryManifestDigest(
  registry: RegistryHandle,
  path: string,
  reference: string,
): Promise<string | undefined> {
  const url = `http://${registry.address}/v2/${path}/manifests/${reference}`;
  const head = (authorization?: string): Promise<Response> =>
    fetch(url, {
      method: "HEAD",
      headers: { accept: ACCEPT, ...(authorization === undefined ? {} : { authorization }) },
    }).catch((err: unknown) => {
      throw unreachable(registry.address, `did not answer: ${(err as Error).message}`);
    });
  let res = await head();
  if (res.status === 401) res = await head(await authorization(registry, res, path));
  if (res.status === 404) return undefined;
  if (!res.ok)
    throw unreachable(registry.address, `answered HTTP ${res.status} for ${path}:${reference}`);
  return res.headers.get("docker-content-digest") ?? undefined;
}

/** The Authorization header a 401 asks for: a token from the realm, or Basic. */
async function authorization(
  registry: RegistryHandle,
  res: Response,
  path: string,
): Promise<string> {
  const auth = registry.auth();
  if (auth === undefined)
    throw unreachable(registry.address, "asks for credentials this server has not got");
  const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
  const { scheme, params } = parseChallenge(res.headers.get("www-authenticate") ?? "");
  if (scheme !== "bearer" || params["realm"] === undefined) return basic;
  const realm = new URL(params["realm"]);
  if (params["service"] !== undefined) realm.searchParams.set("service", params["service"]);
  realm.searchParams.set("scope", params["scope"] ?? `repository:${path}:pull`);
  const tokenRes = await fetch(realm, { headers: { authorization: basic } }).catch(
    (err: unknown) => {
      throw unreachable(registry.address, `token realm did not answer: ${(err as Error).message}`);
    },
  );
  if (!tokenRes.ok)
    throw unreachable(registry.address, `token realm refused: HTTP ${tokenRes.status}`);
  const body = (await tokenRes.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (token === undefined) throw unreachable(registry.address, "token realm answered no token");
  return `Bearer ${token}`;
}
