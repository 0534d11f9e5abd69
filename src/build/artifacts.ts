import { createHash, randomBytes } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  type ReadStream,
} from "node:fs";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { GantryError, ValidationError } from "../errors.js";
import { renameDurably } from "../fsutil/rename-durably.js";
import { K } from "../model/keys.js";
import type { Store } from "../store/index.js";

const SHA = /^[0-9a-f]{64}$/;
const ARTIFACT_FILE = /^([0-9a-f]{64})\.tar\.gz$/;

/**
 * Content-addressed build artifacts: `DATA_DIR/artifacts/<sha256>.tar.gz`. A file is written to a
 * temporary name, fsynced and renamed, so a reader never sees half an artifact and a crash
 * never leaves one under its final name.
 */
export class ArtifactStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, "artifacts");
  }

  /** The file of an artifact; a sha that is not 64 hex digits is refused (no path tricks). */
  path(sha: string): string {
    if (!SHA.test(sha))
      throw new ValidationError("an artifact id is 64 lower-case hex digits", "sha");
    return join(this.dir, `${sha}.tar.gz`);
  }

  has(sha: string): boolean {
    return SHA.test(sha) && existsSync(this.path(sha));
  }

  /** A read stream of an artifact (404 when it does not exist). */
  open(sha: string): { stream: ReadStream; size: number } {
    const path = this.path(sha);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      throw new GantryError("not_found", `artifact ${sha} not found`, { status: 404 });
    }
    return { stream: createReadStream(path), size };
  }

  /** Remove an artifact; false when it did not exist. */
  remove(sha: string): boolean {
    const path = this.path(sha);
    if (!existsSync(path)) return false;
    rmSync(path, { force: true });
    return true;
  }

  /**
   * Store bytes as an artifact and return its sha256. Idempotent: storing the same bytes again
   * keeps the existing file (and refreshes its mtime, which protects it from a concurrent GC).
   */
  async put(source: AsyncIterable<Uint8Array>): Promise<{ sha: string; size: number }> {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const tmp = join(this.dir, `.tmp-${randomBytes(8).toString("hex")}`);
    const hash = createHash("sha256");
    let size = 0;
    const fh = await open(tmp, "wx", 0o644);
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        await fh.write(chunk);
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    const sha = hash.digest("hex");
    const final = this.path(sha);
    if (existsSync(final)) {
      await rm(tmp, { force: true });
      const now = new Date();
      utimesSync(final, now, now);
    } else {
      await renameDurably(tmp, final);
    }
    return { sha, size };
  }

  /** Every stored artifact's sha. */
  list(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((name) => ARTIFACT_FILE.exec(name)?.[1])
      .filter((sha): sha is string => sha !== undefined);
  }
}

export interface GcOptions {
  /** Artifacts of builds that finished this recently are kept even without a release (ms). */
  graceMs?: number;
  now?: number;
}

/**
 * Remove the artifacts no release references. Kept besides: artifacts of builds that finished
 * within the grace period (their release may be being made right now), and files written since
 * the oldest build still running started (its build record does not name its artifact yet).
 * Called when an app is destroyed; safe to call any time.
 */
export async function gcArtifacts(
  dataDir: string,
  store: Store,
  opts: GcOptions = {},
): Promise<{ removed: string[]; kept: number }> {
  const now = opts.now ?? Date.now();
  const grace = opts.graceMs ?? 10 * 60_000;
  const keep = new Set<string>();
  const releases = await store.range({ prefix: K.releases });
  for (const kv of releases.kvs) {
    const artifact = field(kv.value, "artifact");
    if (artifact !== undefined) keep.add(artifact);
  }
  // A build stuck in "building" after a crash must not hold GC back forever.
  const stale = 2 * 60 * 60_000;
  let oldestRunning = Infinity;
  const builds = await store.range({ prefix: K.builds });
  for (const kv of builds.kvs) {
    const b = parse(kv.value);
    if (b === undefined) continue;
    const started = Date.parse(String(b["startedAt"]));
    const finished = Date.parse(String(b["finishedAt"]));
    if (b["status"] === "building" && now - started < stale) {
      oldestRunning = Math.min(oldestRunning, started);
    }
    if (typeof b["artifact"] === "string" && now - finished < grace) keep.add(b["artifact"]);
  }
  const artifacts = new ArtifactStore(dataDir);
  const removed: string[] = [];
  let kept = 0;
  for (const sha of artifacts.list()) {
    if (keep.has(sha) || mtime(artifacts.path(sha)) >= oldestRunning - 1000) {
      kept++;
      continue;
    }
    if (artifacts.remove(sha)) removed.push(sha);
  }
  // Temporary files left by a crash mid-write.
  if (existsSync(artifacts.dir)) {
    for (const name of readdirSync(artifacts.dir)) {
      const path = join(artifacts.dir, name);
      if (name.startsWith(".tmp-") && now - mtime(path) > stale) rmSync(path, { force: true });
    }
  }
  return { removed, kept };
}

function parse(value: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(Buffer.from(value).toString("utf8")) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function field(value: Uint8Array, name: string): string | undefined {
  const v = parse(value)?.[name];
  return typeof v === "string" ? v : undefined;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
