import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";

export type FetchArtifact = (
  sha: string,
  signal?: AbortSignal,
) => Promise<globalThis.ReadableStream<Uint8Array>>;

/**
 * The agent's artifact cache: `AGENT_DATA/artifacts/<sha256>.tar.gz`, each downloaded once
 * (concurrent asks share one download), checked against its sha256 before it gets its final
 * name, so a file under that name is always the real artifact.
 */
export class ArtifactCache {
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly fetch: FetchArtifact,
  ) {}

  path(sha: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error(`not an artifact id: ${sha}`);
    return join(this.dir, `${sha}.tar.gz`);
  }

  /** The local file of an artifact, downloaded if needed. */
  ensure(sha: string, signal?: AbortSignal): Promise<string> {
    const file = this.path(sha);
    if (existsSync(file)) return Promise.resolve(file);
    let p = this.inFlight.get(sha);
    if (p === undefined) {
      p = this.download(sha, file, signal).finally(() => this.inFlight.delete(sha));
      this.inFlight.set(sha, p);
    }
    return p;
  }

  private async download(sha: string, file: string, signal?: AbortSignal): Promise<string> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.download-${randomBytes(6).toString("hex")}`);
    const hash = createHash("sha256");
    try {
      const body = await this.fetch(sha, signal);
      await pipeline(
        Readable.fromWeb(body as ReadableStream<Uint8Array>),
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        }),
        createWriteStream(tmp, { mode: 0o600 }),
        signal ? { signal } : {},
      );
      const got = hash.digest("hex");
      if (got !== sha)
        throw new Error(
          `artifact ${sha.slice(0, 12)}: the download has sha256 ${got.slice(0, 12)}`,
        );
      await rename(tmp, file);
      return file;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Remove cached artifacts nothing uses, sparing the `spare` most recent (rollbacks). */
  prune(inUse: ReadonlySet<string>, spare = 3): void {
    if (!existsSync(this.dir)) return;
    const unused = readdirSync(this.dir)
      .map((name) => /^([0-9a-f]{64})\.tar\.gz$/.exec(name)?.[1])
      .filter((sha): sha is string => sha !== undefined && !inUse.has(sha))
      .map((sha) => ({ sha, mtime: statSync(this.path(sha)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const { sha } of unused.slice(spare)) rmSync(this.path(sha), { force: true });
  }
}
