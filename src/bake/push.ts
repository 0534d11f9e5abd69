import type Docker from "dockerode";
import { engineMessage } from "../docker/engine.js";
import { BakeError } from "./errors.js";
import { engineCall } from "./engine-io.js";

/** Gantry's registry as a bake pushes to it (the server's GET /v1/registry, and a token). */
export interface RegistryTarget {
  /** host:port */
  address: string;
  auth: { username: string; password: string; serveraddress: string };
}

/**
 * Tag the image `<address>/<repo>:<tag>` and push it; resolves to the pinned reference
 * `<address>/<repo>@sha256:…` from the registry's answer.
 */
export async function pushImage(
  engine: Docker,
  imageId: string,
  repo: string,
  tag: string,
  target: RegistryTarget,
  onLine: (line: string) => void,
): Promise<string> {
  const remote = `${target.address}/${repo}`;
  await engineCall(engine.getImage(imageId).tag({ repo: remote, tag }));
  let digest: string | undefined;
  try {
    const stream = await engineCall(
      engine.getImage(`${remote}:${tag}`).push({ tag, authconfig: target.auth }),
    );
    await new Promise<void>((resolve, reject) => {
      engine.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (e: { status?: string; error?: string; aux?: { Digest?: string } }) => {
          if (e.error !== undefined) reject(new Error(e.error));
          if (e.aux?.Digest !== undefined) digest = e.aux.Digest;
          else if (e.status !== undefined && !/^(Preparing|Waiting|Pushing)$/.test(e.status))
            onLine(e.status);
        },
      );
    });
  } catch (err) {
    throw new BakeError(
      "bake_push_failed",
      `pushing ${remote}:${tag} failed: ${engineMessage(err)} (the image is kept locally; bake again to retry the push)`,
      502,
    );
  }
  if (digest === undefined)
    throw new BakeError(
      "bake_push_failed",
      `the registry gave no digest for ${remote}:${tag}`,
      502,
    );
  return `${remote}@${digest}`;
}

/** The digest-pinned reference of an image already pushed to `address`, if it was. */
export function pushedRef(digests: string[], address: string, repo: string): string | undefined {
  return digests.find((d) => d.startsWith(`${address}/${repo}@`));
}
