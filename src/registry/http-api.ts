import { nodeTransport, type ApiResponse } from "../client/transport.js";
import { GantryError } from "../errors.js";
import type { ResourceActions } from "./jwt.js";

/** Manifest kinds asked for: Docker schema 2 and OCI, single images and lists. */
const MANIFEST_TYPES = [
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.index.v1+json",
].join(", ");

/** The parts of a manifest Gantry reads. */
export interface Manifest {
  mediaType?: string;
  config?: { digest: string; size: number };
  layers?: { digest: string; size: number }[];
  manifests?: { digest: string; size: number }[];
}

/** What an image's config says that Gantry reads: its labels and when it was made. */
export interface ImageConfig {
  created?: string;
  config?: { Labels?: Record<string, string> | null };
}

const CATALOG_PAGE = 1000;

export class RegistryApiError extends GantryError {
  constructor(message: string) {
    super("registry_error", message, { status: 502 });
  }
}

/**
 * The registry's HTTP API (distribution's /v2/), each request with a token Gantry signs itself
 * for exactly the access it needs.
 */
export class RegistryApi {
  constructor(
    private readonly addr: string,
    private readonly token: (access: ResourceActions[]) => string,
  ) {}

  private async call(
    method: string,
    path: string,
    access: ResourceActions[],
    headers: Record<string, string> = {},
    body?: Uint8Array,
  ): Promise<ApiResponse> {
    // node:http, not fetch: loading fetch (undici) would cost the server ~7 MB for good.
    const res = await nodeTransport(new URL(`http://${this.addr}/v2/${path}`), {
      method,
      headers: { authorization: `Bearer ${this.token(access)}`, ...headers },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok && res.status !== 404) {
      const body = await res.text().catch(() => "");
      throw new RegistryApiError(
        `the registry answered ${method} /v2/${path} with ${res.status}: ${body.slice(0, 200)}`,
      );
    }
    return res;
  }

  /** Every repository name (the catalog in pages of 1000, the registry's most). */
  async repositories(): Promise<string[]> {
    const all: string[] = [];
    for (;;) {
      const last = all.length === 0 ? "" : `&last=${encodeURIComponent(all.at(-1)!)}`;
      const res = await this.call("GET", `_catalog?n=${CATALOG_PAGE}${last}`, [
        { type: "registry", name: "catalog", actions: ["*"] },
      ]);
      const page = ((await res.json()) as { repositories?: string[] }).repositories ?? [];
      all.push(...page);
      if (page.length < CATALOG_PAGE) return all;
    }
  }

  /** A repository's tags (none when it has none left, or no longer exists). */
  async tags(repo: string): Promise<string[]> {
    const res = await this.call("GET", `${repo}/tags/list`, pull(repo));
    if (res.status === 404) return [];
    return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
  }

  /** A manifest by tag or digest, with its digest; undefined when there is none. */
  async manifest(
    repo: string,
    ref: string,
  ): Promise<{ digest: string; manifest: Manifest } | undefined> {
    const res = await this.call("GET", `${repo}/manifests/${ref}`, pull(repo), {
      accept: MANIFEST_TYPES,
    });
    if (res.status === 404) return undefined;
    const digest = res.headers.get("docker-content-digest") ?? ref;
    return { digest, manifest: (await res.json()) as Manifest };
  }

  /** An image's config blob (labels, created). */
  async imageConfig(repo: string, digest: string): Promise<ImageConfig | undefined> {
    const res = await this.call("GET", `${repo}/blobs/${digest}`, pull(repo));
    if (res.status === 404) return undefined;
    return (await res.json()) as ImageConfig;
  }

  /**
   * Point `tag` at the manifest `digest` (its exact bytes, so the digest stays): false when there
   * is no such manifest.
   */
  async tagManifest(repo: string, digest: string, tag: string): Promise<boolean> {
    const got = await this.call("GET", `${repo}/manifests/${digest}`, pull(repo), {
      accept: MANIFEST_TYPES,
    });
    if (got.status === 404) return false;
    const type =
      got.headers.get("content-type") ?? "application/vnd.docker.distribution.manifest.v2+json";
    const bytes = new Uint8Array(await got.arrayBuffer());
    const res = await this.call(
      "PUT",
      `${repo}/manifests/${tag}`,
      [{ type: "repository", name: repo, actions: ["pull", "push"] }],
      { "content-type": type },
      bytes,
    );
    return res.status !== 404;
  }

  /** Delete a manifest (and with it every tag pointing at it). False when it was not there. */
  async deleteManifest(repo: string, digest: string): Promise<boolean> {
    const res = await this.call("DELETE", `${repo}/manifests/${digest}`, [
      { type: "repository", name: repo, actions: ["delete"] },
    ]);
    return res.status !== 404;
  }
}

const pull = (repo: string): ResourceActions[] => [
  { type: "repository", name: repo, actions: ["pull"] },
];
