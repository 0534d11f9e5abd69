/**
 * The engine calls a Dockerfile build makes (Engine API 1.41 through dockerode's modem): the
 * BuildKit build and the push. Both answer a stream of JSON lines, read here line by line.
 */
import type Docker from "dockerode";
import { engineMessage } from "../docker/engine.js";
import { BuildError } from "./errors.js";
import { LineSplitter } from "./lines.js";

/** Credentials for the registry, as the engine's X-Registry-Auth carries them. */
export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Where built images go (Gantry's registry; see src/registry): its address and credentials. */
export interface RegistryHandle {
  /** `host:port`, e.g. `127.0.0.1:5000`. */
  address: string;
  /** Credentials for a push or pull; undefined for a registry without authentication. */
  auth(): RegistryAuth | undefined;
  /** Run a push so that the registry's garbage collection does not run during it. */
  withPush?<T>(fn: () => Promise<T>): Promise<T>;
  /** Delete an app's images from the registry (`apps:destroy`); answers their digests. */
  deleteAppImages?(app: string): Promise<string[]>;
}

/** Dial one streaming engine call and hand each line of its answer to `onLine`. */
function streamCall(
  engine: Docker,
  call: {
    path: string;
    options: Record<string, unknown>;
    file?: NodeJS.ReadableStream;
    authconfig?: RegistryAuth;
    signal?: AbortSignal;
  },
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    engine.modem.dial(
      {
        path: call.path,
        method: "POST",
        options: call.options,
        ...(call.file === undefined ? {} : { file: call.file }),
        ...(call.authconfig === undefined ? {} : { authconfig: call.authconfig }),
        ...(call.signal === undefined ? {} : { abortSignal: call.signal }),
        isStream: true,
        statusCodes: { 200: true, 400: "bad parameter", 404: "not found", 500: "server error" },
      },
      (err: unknown, stream: unknown) => {
        if (err) return reject(new BuildError(`the Docker engine refused: ${engineMessage(err)}`));
        const s = stream as NodeJS.ReadableStream;
        const lines = new LineSplitter(onLine, 1024 * 1024);
        s.on("data", (c: Buffer) => lines.push(c));
        s.on("end", () => {
          lines.end();
          resolve();
        });
        s.on("error", (e: Error) =>
          reject(new BuildError(`the Docker engine's answer broke: ${e.message}`)),
        );
      },
    );
  });
}

export interface EngineBuild {
  /** The build context: a tar (or tar.gz) stream. */
  context: NodeJS.ReadableStream;
  tag: string;
  labels: Record<string, string>;
  buildArgs: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * `POST /build?version=2`: BuildKit without a session (the context is the uploaded tar). No
 * `pull`: FROM images come from the engine or its registries as the engine finds them.
 */
export function engineBuild(
  engine: Docker,
  b: EngineBuild,
  onLine: (line: string) => void,
): Promise<void> {
  return streamCall(
    engine,
    {
      path: "/build?",
      options: {
        version: "2",
        t: b.tag,
        labels: JSON.stringify(b.labels),
        buildargs: JSON.stringify(b.buildArgs),
        rm: "true",
        forcerm: "true",
      },
      file: b.context,
      ...(b.signal === undefined ? {} : { signal: b.signal }),
    },
    onLine,
  );
}

/** `POST /images/{repo}/push?tag=…`: answers the pushed manifest's digest. */
export async function enginePush(
  engine: Docker,
  repo: string,
  tag: string,
  auth: RegistryAuth | undefined,
  onProgress: (line: string) => void,
  signal?: AbortSignal,
): Promise<string> {
  let digest: string | undefined;
  let error: string | undefined;
  const seen = new Set<string>();
  await streamCall(
    engine,
    {
      path: `/images/${repo}/push?`,
      options: { tag },
      ...(auth === undefined ? {} : { authconfig: auth }),
      ...(signal === undefined ? {} : { signal }),
    },
    (line) => {
      let msg: { status?: unknown; id?: unknown; error?: unknown; aux?: { Digest?: unknown } };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (typeof msg.error === "string") error = msg.error;
      if (typeof msg.aux?.Digest === "string") digest = msg.aux.Digest;
      // Layer lines once each when they settle ("Pushed", "Layer already exists").
      if (typeof msg.id === "string" && typeof msg.status === "string") {
        const key = `${msg.id} ${msg.status}`;
        if (/^(Pushed|Layer already exists|Mounted from)/.test(msg.status) && !seen.has(key)) {
          seen.add(key);
          onProgress(`${msg.id}: ${msg.status}`);
        }
      }
    },
  );
  if (error !== undefined) throw new BuildError(`the push to ${repo} failed: ${error}`);
  if (digest === undefined || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw new BuildError(`the push to ${repo} ended without a digest`);
  return digest;
}
