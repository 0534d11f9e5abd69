/**
 * `gantry deploy --image REF` resolves REF to a digest before any release is made (issue 12): a
 * reference into Gantry's registry by asking the registry (a manifest HEAD; its
 * Docker-Content-Digest), any other by the server's engine (the image is present on the node).
 * A reference that does not exist, or a digest that does not match, is refused.
 */
import type Docker from "dockerode";
import type { RegistryHandle } from "../build/docker-build.js";
import { engineMessage, engineStatus, DockerError } from "../docker/engine.js";
import { notFound, ValidationError } from "../errors.js";
import { formatImageRef, parseImageRef, repositoryOf, type ImageRef } from "./image-ref.js";
import { registryManifestDigest } from "./registry-manifest.js";

export interface ResolveDeps {
  engine: () => Docker;
  registry?: RegistryHandle;
}

export interface ResolvedImage {
  /** `<repository>@sha256:…`: what the release pins. */
  image: string;
  /** Where the digest came from. */
  from: "registry" | "engine";
}

const mismatch = (ref: string, actual: string): ValidationError =>
  new ValidationError(`image "${ref}" does not match: the image there is ${actual}`, "image");

/** Resolve a reference to an image pinned by digest, or throw (400 / 404) saying why. */
export async function resolveImage(ref: string, deps: ResolveDeps): Promise<ResolvedImage> {
  const r = parseImageRef(ref);
  if (deps.registry !== undefined && r.host === deps.registry.address) {
    const byTag = r.tag !== undefined || r.digest === undefined;
    const digest = await registryManifestDigest(
      deps.registry,
      r.path,
      byTag ? (r.tag ?? "latest") : r.digest!,
    );
    if (digest === undefined)
      throw notFound(`image ${formatImageRef(r)} in Gantry's registry (${deps.registry.address})`);
    if (r.digest !== undefined && digest !== r.digest) throw mismatch(ref, digest);
    return { image: `${repositoryOf(r)}@${digest}`, from: "registry" };
  }
  return { image: await fromEngine(deps.engine(), r, ref), from: "engine" };
}

async function fromEngine(engine: Docker, r: ImageRef, ref: string): Promise<string> {
  const name =
    r.tag !== undefined || r.digest === undefined
      ? `${repositoryOf(r)}:${r.tag ?? "latest"}`
      : `${repositoryOf(r)}@${r.digest}`;
  let info: { Id: string; RepoDigests?: string[] };
  try {
    info = (await engine.getImage(name).inspect()) as typeof info;
  } catch (err) {
    if (engineStatus(err) === 404)
      throw notFound(`image ${name} (not in Gantry's registry, and not present on this node)`);
    throw new DockerError(`the Docker engine could not look up ${name}: ${engineMessage(err)}`);
  }
  const repo = repositoryOf(r);
  const digests = (info.RepoDigests ?? []).map((d) => {
    const at = d.indexOf("@");
    return { repo: d.slice(0, at), digest: d.slice(at + 1) };
  });
  if (r.digest !== undefined) {
    if (!digests.some((d) => d.digest === r.digest) && info.Id !== r.digest)
      throw mismatch(ref, digests[0]?.digest ?? info.Id);
    return `${repo}@${r.digest}`;
  }
  // An image pulled from its repository has a repo digest there; one built or loaded on the node
  // (or known under other names only) is pinned by its id, which the node's engine runs it by.
  const mine = digests.find((d) => d.repo === repo);
  return `${repo}@${mine?.digest ?? info.Id}`;
}
