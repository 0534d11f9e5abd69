import type Docker from "dockerode";
import { engineCall } from "./engine-io.js";
import type { BaseImage } from "./lookup.js";

/**
 * The committed image's config: the base image's own (its CMD, ENTRYPOINT, env, user, ports),
 * never the bake container's command, plus the bake's labels. The engine fills fields left
 * empty from the container, so an empty ENTRYPOINT is sent as [] (explicitly none).
 */
export function commitConfig(
  base: BaseImage,
  labels: Record<string, string>,
): Record<string, unknown> {
  const c = base.config;
  return {
    Cmd: c.Cmd ?? null,
    Entrypoint: c.Entrypoint ?? [],
    Env: c.Env ?? [],
    User: c.User ?? "",
    WorkingDir: c.WorkingDir ?? "",
    ExposedPorts: c.ExposedPorts ?? null,
    Volumes: c.Volumes ?? null,
    StopSignal: c.StopSignal ?? "",
    Labels: { ...(c.Labels ?? {}), ...labels },
  };
}

/** Commit the bake container to `repo:tag`; resolves to the new image's id. */
export async function commitBake(
  container: Docker.Container,
  repo: string,
  tag: string,
  config: Record<string, unknown>,
): Promise<string> {
  // dockerode sends `_query` as the query string and `_body` as the container config.
  const res = (await engineCall(
    container.commit({
      _query: { container: container.id, repo, tag, pause: false, comment: "gantry images:bake" },
      _body: config,
    }),
  )) as { Id: string };
  return res.Id;
}
